"""Music for a video: a retrieval model ranks a user's own library (or videos for a track), indexed with faiss.

Needs the ``recommend`` extra (faiss-cpu): ``pip install 'emomv-hf[recommend]'``; file queries also need the
``extract`` extra. ``examples/recommend.py`` is the command line; :class:`.recommend.MusicRecommender` the Python
interface, ``pipeline("music-video-retrieval", ...)`` (:mod:`.pipeline`) the transformers one. :class:`.match.PairMatcher`
scores one video-music pair with a correspondence model (the Space's "Do these match?", ``examples/space/app.py``).

This package imports nothing itself, so that registering the pipeline task (on ``import emomv_hf``) does not
import datasets and faiss.
"""
