"""EmoMV data: the authors' release, the Hub schema, the pairing recipe and the Hub dataset builders.

Import from the submodules: :mod:`.schema` (Hub ``Features`` and id conventions), :mod:`.release` (the
authors' release), :mod:`.pairing`, :mod:`.build` (dataset folders from the release or labelled segments),
:mod:`.create` (tagged datasets from unlabelled media), :mod:`.card` (dataset cards), :mod:`.hub_folder`,
:mod:`.loading`, :mod:`.tensors`. This package imports none of them, so importing one stays cheap.
"""
