import { type Command, InvalidArgumentError } from 'commander';
import type { CommandContext } from './command-context.js';

/** The shells `crypto-anomaly completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

interface OptionFacts {
  flag: string;
  description: string;
  takesValue: boolean;
  choices: readonly string[];
}

interface CommandFacts {
  name: string;
  description: string;
  options: OptionFacts[];
  /** Its own commands (`models push`, `models list`), each with its options. */
  subcommands: CommandFacts[];
}

/** The commands and their long options, read from the program itself so the scripts cannot drift. */
function commandFacts(program: Command): { commands: CommandFacts[]; globals: OptionFacts[] } {
  const facts = (command: Command): OptionFacts[] =>
    command.options
      .filter((option) => option.long !== undefined)
      .map((option) => ({
        flag: option.long!,
        description: option.description,
        takesValue: option.required || option.optional,
        choices: option.argChoices ?? [],
      }));
  const help = { flag: '--help', description: 'show this help', takesValue: false, choices: [] };
  const describe = (command: Command): CommandFacts => ({
    name: command.name(),
    description: command.description(),
    options: [...facts(command), help],
    subcommands: command.commands.map(describe),
  });
  return { commands: program.commands.map(describe), globals: [...facts(program), help] };
}

/**
 * Every command whose options complete, keyed as the scripts name it: `run`, and `models/push`
 * for a command's own command.
 */
function leaves(commands: readonly CommandFacts[]): { key: string; command: CommandFacts }[] {
  return commands.flatMap((command) =>
    command.subcommands.length === 0
      ? [{ key: command.name, command }]
      : command.subcommands.map((sub) => ({ key: `${command.name}/${sub.name}`, command: sub })),
  );
}

/** A name safe as a shell function or variable name. */
const shellName = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');
const singleQuoted = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bashScript(program: Command): string {
  const { commands, globals } = commandFacts(program);
  const name = program.name();
  const cases = leaves(commands)
    .map(
      ({ key, command }) =>
        `    ${key}) opts=${singleQuoted(command.options.map((o) => o.flag).join(' '))} ;;`,
    )
    .join('\n');
  const choiceCases = leaves(commands)
    .flatMap(({ key, command }) =>
      command.options
        .filter((option) => option.choices.length > 0)
        .map((option) => `    ${key}:${option.flag}) choices=${singleQuoted(option.choices.join(' '))} ;;`),
    )
    .join('\n');
  // A command with commands of its own: its second word completes them, and names the options.
  const groupCases = commands
    .filter((command) => command.subcommands.length > 0)
    .map(
      (command) =>
        `    ${command.name})\n      if [[ $COMP_CWORD -eq 2 ]]; then\n        COMPREPLY=($(compgen -W ${singleQuoted(command.subcommands.map((sub) => sub.name).join(' '))} -- "$cur"))\n        return\n      fi\n      command="$command/\${COMP_WORDS[2]}" ;;`,
    )
    .join('\n');
  const fn = `_${shellName(name)}_complete`;
  return `# bash completion for ${name}: add to ~/.bashrc
#   source <(${name} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local command=\${COMP_WORDS[1]} opts='' choices=''
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${singleQuoted([...commands.map((c) => c.name), ...globals.map((o) => o.flag)].join(' '))} -- "$cur"))
    return
  fi
  case "$command" in
${groupCases}
  esac
  case "$command:$prev" in
${choiceCases}
  esac
  if [[ -n $choices ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
    return
  fi
  case "$command" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F ${fn} ${name}
`;
}

function zshScript(program: Command): string {
  const { commands } = commandFacts(program);
  const name = program.name();
  const describe = (facts: { description: string }) => facts.description.replace(/[:[\]]/g, ' ');
  const list = commands
    .map((command) => `    ${singleQuoted(`${command.name}:${describe(command)}`)}`)
    .join('\n');
  const cases = leaves(commands)
    .map(({ key, command }) => {
      const specs = command.options.map((option) => {
        const value = option.takesValue
          ? option.choices.length > 0
            ? `:value:(${option.choices.join(' ')})`
            : ':value:_files'
          : '';
        return singleQuoted(`${option.flag}[${describe(option)}]${value}`);
      });
      return `    ${key}) _arguments -s ${specs.join(' ')} '*:file:_files' ;;`;
    })
    .join('\n');
  const groupCases = commands
    .filter((command) => command.subcommands.length > 0)
    .map((command) => {
      const subs = command.subcommands.map((sub) => singleQuoted(`${sub.name}:${describe(sub)}`)).join(' ');
      return `    ${command.name})\n      if (( CURRENT == 2 )); then\n        local -a subcommands\n        subcommands=(${subs})\n        _describe 'command' subcommands\n        return\n      fi\n      command="$command/$words[2]"\n      shift words\n      (( CURRENT-- )) ;;`;
    })
    .join('\n');
  const fn = `_${shellName(name)}`;
  return `#compdef ${name}
# zsh completion for ${name}: add to ~/.zshrc (after compinit)
#   source <(${name} completion zsh)
# or save it as _${name} in a folder of $fpath.
${fn}() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local command=$words[2]
  shift words
  (( CURRENT-- ))
  case $command in
${groupCases}
  esac
  case $command in
${cases}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}

function fishScript(program: Command): string {
  const { commands } = commandFacts(program);
  const name = program.name();
  const lines = [
    `# fish completion for ${name}: save as ~/.config/fish/completions/${name}.fish`,
    `#   ${name} completion fish > ~/.config/fish/completions/${name}.fish`,
    `complete -c ${name} -f`,
  ];
  for (const command of commands) {
    lines.push(
      `complete -c ${name} -n __fish_use_subcommand -a ${command.name} -d ${singleQuoted(command.description)}`,
    );
  }
  for (const command of commands) {
    const subs = command.subcommands.map((sub) => sub.name).join(' ');
    for (const sub of command.subcommands) {
      const when = `__fish_seen_subcommand_from ${command.name}; and not __fish_seen_subcommand_from ${subs}`;
      lines.push(
        `complete -c ${name} -n ${singleQuoted(when)} -a ${sub.name} -d ${singleQuoted(sub.description)}`,
      );
    }
  }
  for (const { key, command } of leaves(commands)) {
    const when = key
      .split('/')
      .map((word) => `__fish_seen_subcommand_from ${word}`)
      .join('; and ');
    for (const option of command.options) {
      const value = option.takesValue
        ? option.choices.length > 0
          ? ` -x -a ${singleQuoted(option.choices.join(' '))}`
          : ' -r -F'
        : '';
      lines.push(
        `complete -c ${name} -n ${singleQuoted(when)} -l ${option.flag.slice(2)}${value} -d ${singleQuoted(option.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script of `program` for `shell`. */
export function completionScript(program: Command, shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return bashScript(program);
    case 'zsh':
      return zshScript(program);
    case 'fish':
      return fishScript(program);
  }
}

function shellChoice(value: string): CompletionShell {
  const known: readonly string[] = COMPLETION_SHELLS;
  if (!known.includes(value)) {
    throw new InvalidArgumentError(`Expected one of ${COMPLETION_SHELLS.join(', ')}.`);
  }
  return value as CompletionShell;
}

/** `crypto-anomaly completion <shell>`: the shell's completion script on stdout. */
export function addCompletionCommand(program: Command, context: CommandContext): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .argument('<shell>', `one of ${COMPLETION_SHELLS.join(', ')}`, shellChoice)
    .addHelpText(
      'after',
      `
Examples:
  source <(crypto-anomaly completion bash)      in ~/.bashrc
  source <(crypto-anomaly completion zsh)       in ~/.zshrc, after compinit
  crypto-anomaly completion fish > ~/.config/fish/completions/crypto-anomaly.fish`,
    )
    .action((shell: CompletionShell) => {
      context.out(completionScript(program, shell).replace(/\n$/, ''));
    });
}
