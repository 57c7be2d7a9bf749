"""Print where a synthesized cloud assembly's templates are and what each holds."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def summarise(assembly: Path) -> list[str]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    lines = []
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = assembly / artifact["properties"]["templateFile"]
        resources = json.loads(template_file.read_text()).get("Resources", {})
        kinds = Counter(r["Type"].removeprefix("AWS::") for r in resources.values())
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(
            f"{template_file}  {artifact['environment'].rsplit('/', 1)[-1]}  "
            f"{len(resources)} resources ({detail})"
        )
    return lines


def main() -> int:
    assembly = Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    lines = summarise(assembly)
    print(f"{len(lines)} templates in {assembly}/:")  # noqa: T201
    for line in lines:
        print(f"  {line}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
