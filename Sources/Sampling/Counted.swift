/// A count with its noun in the right number: `counted(1, "sample")` is "1 sample", `counted(3, "sample")`
/// "3 samples"; `plural` for a noun whose plural is not the singular with "s". The library's own copy of
/// TerminalUI's (the tools'), which this library does not depend on.
func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
}
