"""How often the outdoor hint is right, on the photos in ../shared/samples whose setting is known.

The setting comes from the content column of samples/LICENSES.txt ("indoor",
"studio", "outdoor(s)"); where that column says nothing, a photo is labelled
only if the setting is plain to the eye, and the label says so. The hint may
abstain ("unknown") when the file carries no exposure data: abstentions are
counted apart from right and wrong answers.

    python benchmarks/outdoor_hint.py      -> benchmarks/results/outdoor_hint.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHARED, print_table, write_json
from minorguard.photos.metadata import read_metadata
from minorguard.rules.outdoor import INDOOR_EV, OUTDOOR_EV, guess_outdoor

SAMPLES = SHARED / "samples"
# Settings LICENSES.txt does not state, judged by eye (and why).
BY_EYE = {
    "faceaisharp_biden_7mpx.jpg": ("indoor", "studio portrait: grey backdrop and flag, lit by flash"),
}


def stated_settings(licences: Path) -> dict[str, tuple[str | None, str]]:
    """file -> (indoor/outdoor/None, source of the label) from the LICENSES.txt table."""
    out: dict[str, tuple[str | None, str]] = {}
    for line in licences.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 6 or not cells[0].lower().endswith((".jpg", ".jpeg", ".png")):
            continue
        content = cells[-1].lower()
        if "outdoor" in content:
            setting = "outdoor"
        elif "indoor" in content or "studio" in content:
            setting = "indoor"
        else:
            setting = None
        out[cells[0]] = (setting, f"LICENSES.txt: {cells[-1]}" if setting else "not stated")
    return out


def main() -> None:
    if not (SAMPLES / "LICENSES.txt").is_file():
        sys.exit(f"samples not found at {SAMPLES} (set MINORGUARD_SHARED)")
    labels = stated_settings(SAMPLES / "LICENSES.txt")
    rows, photos = [], []
    for name in sorted(labels):
        setting, source = labels[name]
        if setting is None and name in BY_EYE:
            setting, why = BY_EYE[name]
            source = f"by eye: {why}"
        path = SAMPLES / name
        with Image.open(path) as image:
            meta = read_metadata(path.read_bytes(), image)
        guess = guess_outdoor(meta)
        has_exposure = meta.exposure_time is not None or meta.brightness_value is not None
        if setting is None or guess.setting == "unknown":
            outcome = "abstained" if setting is not None else "no label"
        else:
            outcome = "right" if guess.setting == setting else "wrong"
        photos.append({
            "file": name, "setting": setting, "label_source": source, "exposure_exif": has_exposure,
            "exposure_time": meta.exposure_time, "f_number": meta.f_number, "iso": meta.iso, "flash": meta.flash_fired,
            "brightness_value": meta.brightness_value, "ev100": None if guess.ev100 is None else round(guess.ev100, 2),
            "hint": guess.setting, "cues": list(guess.cues), "outcome": outcome,
        })
        rows.append([name, setting or "-", "yes" if has_exposure else "no",
                     "-" if guess.ev100 is None else f"{guess.ev100:.1f}", guess.setting, outcome])
    print_table(["photo", "setting", "exposure EXIF", "EV100", "hint", "outcome"], rows)
    labelled = [p for p in photos if p["setting"]]
    decided = [p for p in labelled if p["outcome"] in ("right", "wrong")]
    right = sum(p["outcome"] == "right" for p in decided)
    summary = {
        "photos": len(photos),
        "with_setting": len(labelled),
        "with_setting_stated_in_licences": sum(p["label_source"].startswith("LICENSES") for p in labelled),
        "with_exposure_exif": sum(p["exposure_exif"] for p in photos),
        "measurable": len(decided),
        "right": right,
        "wrong": len(decided) - right,
        "abstained": sum(p["outcome"] == "abstained" for p in labelled),
        "false_outdoor": sum(p["outcome"] == "wrong" and p["hint"] == "outdoor" for p in decided),
    }
    print(f"\nhint decided on {summary['measurable']} of {summary['with_setting']} photos with a known setting: "
          f"{right} right, {summary['wrong']} wrong; abstained on {summary['abstained']} (no exposure EXIF)")
    path = write_json("outdoor_hint.json", {
        "what": f"outdoor hint from EXIF exposure (EV100 >= {OUTDOOR_EV:.0f} outdoor, <= {INDOOR_EV:.0f} or flash "
                "indoor) on ../shared/samples",
        "caveat": "most sample photos were re-encoded without EXIF; a figure on one photo says nothing about accuracy",
        "summary": summary,
        "photos": photos,
    })
    print(f"written: {path}")


if __name__ == "__main__":
    main()
