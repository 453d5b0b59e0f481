"""Run every benchmark in bench/ (each in its own process, so peak memory is its own)."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
failed = []
for script in sorted(here.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    if subprocess.run([sys.executable, str(script)], cwd=here).returncode:
        failed.append(script.name)
sys.exit(1 if failed else 0)
