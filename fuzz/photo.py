"""Fuzz the photo loader and every metadata reader with atheris (coverage-guided, libFuzzer).

    pip install atheris
    python -m fuzz.photo --minutes 55 --workers 2     # the full run: about 1,000,000 executions on 2 cores
    python -m fuzz.photo --runs 20000                 # a short run

What a bad file may do: raise ``PhotoError`` (the scan turns it into an ERROR
verdict). Anything else, a hang past the timeout, or memory past the limit is a
finding: libFuzzer writes the input to ``fuzz/findings/`` and the run stops.
Each finding becomes a regression test (``tests/test_fuzz_findings.py`` runs every
file under ``tests/fuzz_findings/``).

The seeds are real: small crops of the bundled sample portrait saved in every
format the loader reads (JPEG with EXIF and GPS, progressive JPEG, PNG with
16-bit grey, WebP, TIFF with orientation, HEIC) and the formats it must refuse
(GIF, BMP, multi-page TIFF, animated WebP), written to ``fuzz/corpus/`` on first
run. Small seeds keep each execution at a few milliseconds.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
FINDINGS = HERE / "findings"
MAX_PIXELS = 4_000_000  # a fuzzed header may claim any size: the bomb guard must refuse it first
TARGET_SIDE = 512


def write_seeds(folder: Path = CORPUS) -> int:
    """One small real photo per format, from the sample portrait; returns how many were written."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(ROOT / "sample_images" / "faceaisharp_obama_family.jpg") as image:
        face = image.convert("RGB").crop((160, 60, 320, 220)).resize((48, 48))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turned
    exif[0x9003] = "2026:10:25 11:00:00"
    seeds: dict[str, bytes] = {}

    def save(name: str, img: Image.Image, fmt: str, **kw) -> None:
        buffer = io.BytesIO()
        img.save(buffer, fmt, **kw)
        seeds[name] = buffer.getvalue()

    save("exif.jpg", face, "JPEG", exif=exif.tobytes(), quality=70)
    save("progressive.jpg", face, "JPEG", progressive=True, quality=60)
    save("rgba.png", face.convert("RGBA"), "PNG")
    save("grey16.png", face.convert("I;16"), "PNG")
    save("photo.webp", face, "WEBP", quality=60)
    save("oriented.tif", face, "TIFF", exif=exif.tobytes())
    save("pages.tif", face, "TIFF", save_all=True, append_images=[face.rotate(90)])
    save("anim.webp", face, "WEBP", save_all=True, append_images=[face.rotate(90)], duration=100)
    save("photo.gif", face, "GIF")
    save("photo.bmp", face, "BMP")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        save("photo.heic", face, "HEIF", quality=50)
    except Exception as error:  # pillow-heif's encoder is optional on some platforms
        print(f"no HEIC seed: {error}", file=sys.stderr)
    for name, data in seeds.items():
        (folder / name).write_bytes(data)
    return len(seeds)


def check_one(data: bytes) -> None:
    """The property: a file is loaded, or refused with PhotoError; a loaded photo is whole."""
    from minorguard.photos.decode import PhotoError, load_frames, load_photo

    try:
        photo = load_photo(data, max_pixels=MAX_PIXELS, target_long_side=TARGET_SIDE, label="fuzz")
    except PhotoError as error:
        if error.code != "multi_frame":
            return
        try:  # what Guard.check does then: every frame, each decoded whole or refused
            for photo in load_frames(data, MAX_PIXELS, TARGET_SIDE, "fuzz", max_frames=8)[1]:
                _whole(photo)
        except PhotoError:
            pass
        return
    _whole(photo)


def _whole(photo) -> None:
    # a photo that loaded must be fully decoded pixels, never a partial image judged as a whole
    assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3 and photo.pixels.dtype.name == "uint8", photo.pixels.shape
    assert photo.width > 0 and photo.height > 0 and photo.width * photo.height <= MAX_PIXELS
    assert photo.sha256 is not None and len(photo.sha256) == 64


def _run_workers(args: argparse.Namespace) -> int:
    """One fuzzing process per worker on the shared corpus; totals and findings to fuzz/findings/summary.json."""
    import json
    import re
    import subprocess
    import time

    own = [sys.executable, "-m", "fuzz.photo", "--workers", "1", "--timeout", str(args.timeout)]
    if args.minutes:
        own += ["--minutes", str(args.minutes)]
    if args.runs:
        own += ["--runs", str(args.runs)]
    start = time.time()
    logs = [FINDINGS / f"worker-{i}.log" for i in range(args.workers)]
    procs = [subprocess.Popen(own, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
    codes = [p.wait() for p in procs]
    runs = sum(int(m.group(1)) for log in logs for m in re.finditer(r"stat::number_of_executed_units: (\d+)", log.read_text()))
    found = sorted(p.name for p in FINDINGS.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-")))
    summary = {"executions": runs, "seconds": round(time.time() - start), "workers": args.workers, "findings": found,
               "exit_codes": codes}
    (FINDINGS / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary))
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=0, help="stop after this long (libFuzzer -max_total_time)")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many executions per worker")
    parser.add_argument("--workers", type=int, default=1, help="parallel fuzzing processes (2 on a 2-core machine)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take before it is a hang")
    args = parser.parse_args(argv)
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    if not any(CORPUS.glob("*")):
        print(f"wrote {write_seeds()} seed files to {CORPUS}", flush=True)
    FINDINGS.mkdir(parents=True, exist_ok=True)
    if args.workers > 1:
        return _run_workers(args)
    flags = [sys.argv[0], str(CORPUS), f"-artifact_prefix={FINDINGS}{os.sep}", f"-timeout={args.timeout}",
             "-rss_limit_mb=3072", "-max_len=65536", "-print_final_stats=1"]
    if args.minutes:
        flags.append(f"-max_total_time={int(args.minutes * 60)}")
    if args.runs:
        flags.append(f"-runs={args.runs}")
    # coverage of every parser a photo's bytes reach: the loader, Pillow's decoders and EXIF, exifread, HEIC
    with atheris.instrument_imports(include=["minorguard", "PIL", "exifread", "pillow_heif"]):
        pass

    def one_input(data: bytes) -> None:
        check_one(data)

    atheris.Setup(flags, one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
