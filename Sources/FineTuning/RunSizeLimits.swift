import Training

/// Bounds on a run's size, far beyond any real fine-tuning run: a value past them is a typo (`--epochs 1e300`,
/// `--grad-accum 1000000000`) that would otherwise mean a run that never ends, or an Int overflow.
public enum RunSizeLimits {
    /// The most optimizer steps a run may take (--steps, or --epochs over the training data): pretrain's bound.
    public static let maximumSteps = TrainingOptions.maximumSteps
    /// The most examples one optimizer step may sum (--batch-size x --grad-accum).
    public static let maximumExamplesPerStep = 1 << 20
}
