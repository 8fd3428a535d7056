import TestSupport

/// The built `pretrain` executable.
let PretrainCommand = BuiltExecutable("pretrain")
