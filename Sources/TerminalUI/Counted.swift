/// A count with its noun in the right number, for the tools' messages: `counted(1, "step")` is "1 step",
/// `counted(3, "step")` "3 steps"; `plural` for a noun whose plural is not the singular with "s". (The Sampling
/// library keeps an internal copy for its own messages: it does not depend on this module.)
public func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
}
