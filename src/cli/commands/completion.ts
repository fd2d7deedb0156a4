// `minipod completion bash|zsh`: shell completion for commands, resource types,
// flags and pod names (asked of the daemon with `minipod get pods -o name`).
import type { Command } from 'commander';
import { servedResources, resourceType } from '../../api/api-resources.js';
import { UsageError } from '../output.js';

function words(program: Command): { commands: string[]; flags: Record<string, string[]> } {
  const flags: Record<string, string[]> = {};
  for (const c of program.commands) flags[c.name()] = c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x));
  return { commands: program.commands.map((c) => c.name()), flags };
}

export function completionScript(shell: string, program: Command): string {
  const { commands, flags } = words(program);
  const types = servedResources().flatMap((r) => [r, resourceType(r).singular]);
  const cases = Object.entries(flags)
    .map(([cmd, fl]) => `    ${cmd}) flags="${fl.join(' ')}" ;;`)
    .join('\n');
  const bash = `# minipod bash completion: source <(minipod completion bash)
_minipod() {
  local cur prev cmd flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')}" -- "$cur") ); return
  fi
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$flags" -- "$cur") ); return; fi
  case "$prev" in
    get|delete|describe|label|annotate|trace) COMPREPLY=( $(compgen -W "${types.join(' ')}" -- "$cur") ); return ;;
    pod|pods|logs|exec|port-forward) COMPREPLY=( $(compgen -W "$(minipod get pods -o name 2>/dev/null | sed 's|^pod/||')" -- "$cur") ); return ;;
    -f|--filename) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
}
complete -F _minipod minipod
`;
  if (shell === 'bash') return bash;
  if (shell === 'zsh') return `#compdef minipod\n# minipod zsh completion: source <(minipod completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
  throw new UsageError(`unsupported shell "${shell}": use bash or zsh`);
}
