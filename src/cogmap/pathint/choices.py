"""The choices of a path integrator's settings, in a module light enough for a config to import them
(the model and the data module import Lightning; a command's settings are checked before that)."""

SOURCES = ("file", "online")  # where the training trajectories come from
CELLS = ("rnn", "gru", "lstm")
INITS = ("orthogonal", "identity", "default")
ENCODINGS = ("code", "log")
NONLINEARITIES = ("tanh", "relu")  # of the vanilla RNN; GRU and LSTM gates are their own
READOUTS = ("norm", "linear")  # LayerNorm, dropout, then a linear map; or one linear map (Sorscher et al.'s)
OPTIMIZERS = ("adamw", "adam")
