"""The label-validation survey of the paper (section 4): sampling, the web form, its SQLite store and the
analysis of Tables 5-7."""
