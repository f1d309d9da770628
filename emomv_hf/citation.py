"""How to cite the EmoMV paper; used by the dataset card, the model cards and the metric modules."""

RELEASE_URL = "https://github.com/ivyha010/EmoMV"

BIBTEX = """@article{thao2023emomv,
  title   = {EmoMV: Affective Music-Video Correspondence Learning Datasets for Classification and Retrieval},
  author  = {Thao, Ha Thi Phuong and Roig, Gemma and Herremans, Dorien},
  journal = {Information Fusion},
  volume  = {91},
  pages   = {64--79},
  year    = {2023},
  doi     = {10.1016/j.inffus.2022.10.002}
}"""
