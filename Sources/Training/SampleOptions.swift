/// `pretrain --sample-every N`: a sample of `tokens` tokens continuing `prompt` every `every` steps while the run
/// trains (recorded with the run, so that `--resume` keeps it).
public struct SampleOptions: Codable, Equatable, Sendable {
    public var every: Int
    public var tokens: Int
    public var prompt: String

    public init(every: Int, tokens: Int = 64, prompt: String = "") {
        self.every = every
        self.tokens = tokens
        self.prompt = prompt
    }

    /// `saved` (nil: none) with the options given now laid over it.
    public static func merging(_ saved: SampleOptions?, every: Int?, tokens: Int?, prompt: String?) -> SampleOptions? {
        guard every != nil || tokens != nil || prompt != nil || saved != nil else { return nil }
        var options = saved ?? SampleOptions(every: 0)
        if let every { options.every = every }
        if let tokens { options.tokens = tokens }
        if let prompt { options.prompt = prompt }
        return options
    }
}
