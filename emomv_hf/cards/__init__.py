"""Model cards for the Hub, filled from the templates in ``templates/`` with huggingface_hub's
``ModelCard.from_template`` (dataset cards are written next to the data code, :mod:`emomv_hf.data.card`)."""
