#!/usr/bin/env python
"""Convert the public SlowFast / VGGish checkpoints into transformers checkpoint folders (safetensors).

    python dataset_scripts/convert_weights.py --output-dir extractors \\
        --slowfast SLOWFAST_8x8_R50.pyth --vggish vggish-10086976.pth [--vggish-pca vggish_pca_params-970ea276.pth] \\
        [--push-to-hub ORG/NAME [--private]]

Downloads (once, by hand): SLOWFAST_8x8_R50.pyth from
https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOWFAST_8x8_R50.pyth and vggish-10086976.pth
(+ vggish_pca_params-970ea276.pth) from https://github.com/harritaylor/torchvggish/releases/tag/v0.1.
Writes OUT/slowfast and OUT/vggish, each with config.json, model.safetensors, the processor configs and a
README.md model card naming the source file and its SHA-256; ``AutoProcessor.from_pretrained(OUT/vggish)`` and
``AutoModel.from_pretrained(OUT/vggish)`` (after ``import emomv_hf``) then go from decoded media to features.
``--push-to-hub ORG/NAME`` uploads the folder (both: ORG/NAME-slowfast and ORG/NAME-vggish).

Offline, without the downloads: ``python dataset_scripts/convert_weights.py --output-dir extractors --random-init``
writes both folders (processors included) with RANDOM weights, to try ``--extractor extractors`` and the processor
snippets; their cards, and the card of every extraction made with them, say loudly that the features mean nothing.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emomv_hf.cli import make_parser, run_script
from emomv_hf.features.arguments import ConvertWeightsArguments
from emomv_hf.features.convert import convert_checkpoint
from emomv_hf.hub import push_to_hub


def build_parser():
    """`HfArgumentParser` over :class:`ConvertWeightsArguments`."""
    return make_parser(
        ConvertWeightsArguments, prog="convert_weights.py", description=__doc__.splitlines()[0]
    )


def main(argv: list[str] | None = None) -> int:
    return run_script(build_parser(), _run, argv)


def _run(args: ConvertWeightsArguments) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    repo_ids = args.repo_ids()
    folders = {}
    for kind in ("slowfast", "vggish"):
        source = getattr(args, kind)
        if source is None and not args.random_init:
            continue
        folder = convert_checkpoint(
            kind,
            source,
            Path(args.output_dir) / kind,
            pca_params=args.vggish_pca if kind == "vggish" else None,
            repo_id=repo_ids.get(kind),
        )
        folders[kind] = folder
        print(f"{source or 'RANDOM weights (--random-init: the features mean nothing)'} -> {folder}")
    for kind, folder in folders.items():
        if kind in repo_ids:
            url = push_to_hub(folder, repo_ids[kind], private=args.private)
            print(f"pushed {folder} to {repo_ids[kind]}: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
