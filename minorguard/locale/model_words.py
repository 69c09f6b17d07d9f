"""The model pack's own words (roles, descriptions, licences, sources, the licence note) in the reader's language.

The model classes describe their files in English beside the code that loads them
(``ModelFile``, ``ModelPack.licence_note``); ``minorguard models`` and the HTML
report's footer say them through :func:`model_text`, keyed by the English text as
``help_sq`` keys --help. Names, versions, hashes and paths are not translated;
a text this table does not know is shown as written.
"""

from __future__ import annotations

import re

__all__ = ["MODEL_WORDS_SQ", "model_text", "pack_label_text"]

MODEL_WORDS_SQ: dict[str, str] = {
    # roles
    "detector": "detektor",
    "age": "mosha",
    "landmarks": "pikat e fytyrës",
    "embedding": "përshkrimi i fytyrës",
    # the default pack's files
    "CenterFace 8-bit recipe (activation ranges, no weights)": "receta 8-bit e CenterFace (intervalet e aktivizimit, pa pesha)",
    "Cydral age-v1 (81 classes, 0-80 years)": "Cydral age-v1 (81 klasa, 0-80 vjeç)",
    "dlib 5-point shape predictor": "parashikuesi i formës me 5 pika i dlib",
    "HSE FaceRes (MobileNet, ages 1-100)": "HSE FaceRes (MobileNet, mosha 1-100)",
    "face-api.js AgeGenderNet (TinyXception, regressed age)": "face-api.js AgeGenderNet (TinyXception, mosha me regresion)",
    "dlib ResNet face descriptor v1 (128-D), face-api.js's copy of its weights, as ONNX":
        "përshkruesi i fytyrës dlib ResNet v1 (128-D), kopja e peshave të tij në face-api.js, si ONNX",
    "MIT (as CenterFace); measured on sample_images/": "MIT (si CenterFace); matur mbi sample_images/",
    "Apache-2.0 (upstream HSE_FaceRec_tf), MIT (package)": "Apache-2.0 (origjina HSE_FaceRec_tf), MIT (paketa)",
    "MIT (detectors, face-api age, the descriptor's ONNX copy), Apache-2.0 (FaceRes age) and CC0-1.0 (Cydral age, landmarks, dlib's descriptor weights): fit for government use.":
        "MIT (detektorët, mosha face-api, kopja ONNX e përshkruesit), Apache-2.0 (mosha FaceRes) dhe CC0-1.0 (mosha Cydral, "
        "pikat e fytyrës, peshat e përshkruesit të dlib): të përshtatshme për përdorim nga institucionet shtetërore.",
    # an insightface folder's files
    "non-commercial research only (insightface model packs)": "vetëm për kërkim jo tregtar (paketat e modeleve insightface)",
    "user folder; never downloaded by minorguard": "dosje e përdoruesit; minorguard nuk e shkarkon kurrë",
}

# texts with a name, a version or a path inside: (pattern, the translation's template over its groups)
_PATTERNS_SQ: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?P<source>.+), converted by (?P<script>.+)"), "{source}, i konvertuar me {script}"),
    (re.compile(r"(?P<source>.+), converted"), "{source}, i konvertuar"),
    (re.compile(r"SCRFD detector (?P<name>.+)"), "detektori SCRFD {name}"),
    (re.compile(r"genderage (?P<name>\S+) \(age as Gaussian, sd (?P<sd>\S+) y\)"),
     "genderage {name} (mosha si shpërndarje Gaussiane, sd {sd} vjet)"),
    (re.compile(r"insightface models from (?P<folder>.+): licensed (?P<licence>.+); minorguard never downloads them\. "
                r"Check the licence before any official use\."),
     "modelet insightface nga {folder}: licenca {licence}; minorguard nuk i shkarkon kurrë. "
     "Kontrolloni licencën para çdo përdorimi zyrtar."),
)

MODEL_WORDS: dict[str, tuple[dict[str, str], tuple[tuple[re.Pattern[str], str], ...]]] = {"sq": (MODEL_WORDS_SQ, _PATTERNS_SQ)}

# Guard.pack_label: the model pack, the minor estimator's weights and the versions of two sets of rules; one id,
# kept in every result (an incremental run compares it), so only its words are said in the reader's language
_PACK_LABEL = re.compile(r"(?P<pack>.+); minor estimator (?P<estimator>.+); reading doubts (?P<doubts>\S+); previews (?P<previews>\S+)")
_PACK_LABEL_TEXT = {
    "sq": "{pack}; vlerësuesi i të miturve {estimator}; rregullat e dyshimeve në leximin e moshës, versioni {doubts}; "
          "rregullat e pamjeve paraprake, versioni {previews}",
}


def model_text(text: str, lang: str) -> str:
    """``text`` (a role, a file's description, licence or source, a licence note) in ``lang``; as written when unknown."""
    words, patterns = MODEL_WORDS.get(lang, ({}, ()))
    if text in words:
        return words[text]
    for pattern, template in patterns:
        found = pattern.fullmatch(text)
        if found:
            return template.format(**{k: model_text(v, lang) for k, v in found.groupdict().items()})
    return text


def pack_label_text(label: str, lang: str) -> str:
    """A result's model pack id (``default-5 (...); minor estimator ...; reading doubts 1; previews 6``) with its
    words in ``lang``."""
    found = _PACK_LABEL.fullmatch(label)
    template = _PACK_LABEL_TEXT.get(lang)
    if found is None or template is None:
        return label
    return template.format(**found.groupdict())
