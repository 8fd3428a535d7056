/// "1 step", "2 steps": a count and its noun, singular for exactly one.
func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
}
