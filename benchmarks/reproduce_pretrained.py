"""Re-run a shipped model card's training command and check the result against the shipped weights.

On a machine like the card's (same processor, thread count and torch version) training is deterministic, so the
new weights, stored the way the card says (float16), must equal the shipped ones bit for bit. Elsewhere float
rounding differs and adversarial training amplifies it, so the check is statistical instead: the new run's FID
with the card's cheap extractor at the card's N must lie within 3 seed-spreads of the card's.

    python benchmarks/reproduce_pretrained.py dcgan              # weights "mnist"
    python benchmarks/reproduce_pretrained.py dcgan/mnist --json benchmarks/results/reproduce_dcgan.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import torch
from make_pretrained import cheap_fid

import ganzoo
from ganzoo.engine import checkpoint as ckpt
from ganzoo.plugins import get_registry
from ganzoo.pretrained import MODEL_FILE, folder_of, model_tensors, verify

SAME_MACHINE = ("processor", "torch_threads", "torch", "cpu_count")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="VARIANT or VARIANT/WEIGHTS (default weights: mnist)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    variant, _, weights = args.name.partition("/")
    folder = folder_of(get_registry().pretrained(variant, weights or "mnist"))
    verify(folder)
    card = json.loads((folder / "card.json").read_text())

    here = common.machine_info()
    same = all(str(here.get(k)) == str(card["machine"].get(k)) for k in SAME_MACHINE)
    with tempfile.TemporaryDirectory() as tmp:
        command = shlex.split(card["command"]) + ["--out", str(Path(tmp) / "run")]
        ganzoo_cli = Path(sys.executable).with_name("ganzoo")
        print(f"running: {' '.join(command)}", flush=True)
        started = time.perf_counter()
        subprocess.run([str(ganzoo_cli), *command[1:]], check=True)
        seconds = time.perf_counter() - started
        run = ganzoo.load(Path(tmp) / "run")
        dtype = getattr(torch, card.get("dtype", "float16"))
        shipped, _ = ckpt.load_tensors(folder / MODEL_FILE)
        fresh = model_tensors(run, dtype, sampler_only=not any(k.startswith("G_ema.") for k in shipped))
        bitwise = set(fresh) == set(shipped) and all(torch.equal(fresh[k], shipped[k]) for k in shipped)
        result = {"name": f"{variant}/{card['weights']}", "command": card["command"], "same_machine": same,
                  "bitwise_equal": bitwise, "train_wall_s": round(seconds, 1), "machine": here}
        check = card.get("float16_check")
        if not bitwise and check:
            fid = cheap_fid(run, run.sampler, check["num_samples"], check["extractor"])
            spread = check.get("seed_spread")
            result.update(extractor=check["extractor"], fid=fid, card_fid=check["fid_float32"], seed_spread=spread,
                          within=None if spread is None else abs(fid - check["fid_float32"]) <= 3 * spread)
            if spread is None:
                result["note"] = ("the card records no seed spread, so only a machine like the card's can check it "
                                  "(bit for bit)")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = bitwise if same else bool(result.get("within"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
