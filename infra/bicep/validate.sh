#!/usr/bin/env bash
# Builds and lints every Bicep file under infra/bicep with the pinned Bicep CLI from NuGet.
# Fails on any error and on any warning: the Bicep CLI itself exits 0 when it reports only warnings,
# so its diagnostics are counted here. Compiled templates go to a temporary directory.
set -euo pipefail

bicep_dir="$(cd "$(dirname "$0")" && pwd)"
tool_project="$bicep_dir/tools/BicepCli.csproj"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
  echo "validate.sh: the pinned Bicep CLI package is linux-x64; this machine is $(uname -s)-$(uname -m)." >&2
  exit 1
fi

echo "Restoring the Bicep CLI ($tool_project)"
dotnet restore "$tool_project" --nologo --verbosity quiet
bicep="$(dotnet msbuild "$tool_project" -nologo -getProperty:BicepCliPath)"
if [[ ! -f "$bicep" ]]; then
  echo "validate.sh: Bicep CLI not found at '$bicep' after restore." >&2
  exit 1
fi
# NuGet does not always keep the executable bit when it extracts a package.
[[ -x "$bicep" ]] || chmod +x "$bicep"
"$bicep" --version

out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

failures=0
diagnostics=0

# Runs one Bicep command, shows its output and counts its diagnostics ("file(line,col) : Level CODE: message").
run() {
  local log="$out_dir/last.log"
  local status=0
  "$bicep" "$@" >"$log" 2>&1 || status=$?
  cat "$log"
  local count
  count="$(grep -cE '\([0-9]+,[0-9]+\) : (Error|Warning|Info) ' "$log" || true)"
  diagnostics=$((diagnostics + count))
  if [[ $status -ne 0 || $count -ne 0 ]]; then
    echo "FAILED: bicep $* (exit $status, $count diagnostics)"
    failures=$((failures + 1))
  else
    echo "ok: bicep $1 ${2#"$bicep_dir"/}"
  fi
}

mapfile -t bicep_files < <(find "$bicep_dir" -name '*.bicep' -not -path '*/tools/*' | sort)
mapfile -t param_files < <(find "$bicep_dir" -name '*.bicepparam' -not -path '*/tools/*' | sort)
if [[ ${#bicep_files[@]} -eq 0 ]]; then
  echo "validate.sh: no .bicep files under $bicep_dir." >&2
  exit 1
fi

for file in "${bicep_files[@]}"; do
  relative="${file#"$bicep_dir"/}"
  run build "$file" --outfile "$out_dir/build/${relative%.bicep}.json"
  run lint "$file"
done
for file in "${param_files[@]}"; do
  relative="${file#"$bicep_dir"/}"
  run build-params "$file" --outfile "$out_dir/params/${relative%.bicepparam}.parameters.json"
done

files=$(( ${#bicep_files[@]} + ${#param_files[@]} ))
if [[ $failures -ne 0 ]]; then
  echo "Bicep validation failed: $failures command(s) failed, $diagnostics diagnostic(s) in $files file(s)." >&2
  exit 1
fi
echo "Bicep validation passed: $files file(s), 0 errors, 0 warnings."
