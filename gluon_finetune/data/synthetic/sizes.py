"""Picture sizes as a user gives them: ``N`` or ``LOW-HIGH`` pixels (``--size``).
"""


from ...errors import UserError


def check_size(size):
    """Validate a (low, high) side-length range and return it as two ints."""
    try:
        lo, hi = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UserError("image size must be two integers (low, high), got %r" % (size,)) from None
    if lo < 16 or hi < lo or hi > 4096:
        raise UserError("image size range %d-%d is not usable: sides must satisfy "
                        "16 <= low <= high <= 4096" % (lo, hi))
    return lo, hi


def parse_size(text):
    """Parse ``"200-500"`` (a range) or ``"64"`` (fixed) into a (low, high) pair."""
    parts = str(text).replace(",", "-").split("-")
    try:
        nums = [int(p) for p in parts if p.strip() != ""]
    except ValueError:
        nums = []
    if len(nums) not in (1, 2):
        raise UserError("--size expects N or LOW-HIGH in pixels (e.g. 64 or 200-500), "
                        "got %r" % (text,))
    return check_size((nums[0], nums[-1]))
