"""Learning-to-rank training of the challenger's XGBoost ranker, without test leakage.

Training data comes from the candidate pipeline itself (`groups`): the TRAIN
split is split again (`labels`), candidates generated from its earlier part are
labelled by its held-out part (`ltr_data`), and `trainer` fits an XGBoost
ranker on those groups with early stopping on held-out users.
"""
