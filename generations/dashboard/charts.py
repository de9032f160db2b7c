"""A bar chart as inline SVG, drawn on the server: no JavaScript, no library."""

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD = 720, 200, 24


def bar_chart(points: list[tuple[date, int]], *, label: str) -> str:
    """`points` are (day, value); one bar each, the tallest filling the height."""
    if not points:
        return format_html('<p class="hint">{}</p>', _("No data in this period."))
    top = max(value for _, value in points) or 1
    step = (WIDTH - 2 * PAD) / len(points)
    bars = format_html_join(
        "",
        ('<rect x="{}" y="{}" width="{}" height="{}" fill="#4a7bd0"><title>{}: {}</title></rect>'),
        (
            (
                f"{PAD + i * step:.1f}",
                f"{HEIGHT - PAD - h:.1f}",
                f"{max(step - 2, 1):.1f}",
                f"{h:.1f}",
                day.isoformat(),
                value,
            )
            for i, (day, value) in enumerate(points)
            for h in [(HEIGHT - 2 * PAD) * value / top]
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'class="chart">{}<text x="{}" y="14" font-size="12">{}</text>'
        '<text x="{}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" '
        'text-anchor="end">{}</text></svg>',
        WIDTH,
        HEIGHT,
        label,
        bars,
        PAD,
        _("%(label)s (max %(top)s)") % {"label": label, "top": top},
        PAD,
        HEIGHT - 6,
        points[0][0].isoformat(),
        WIDTH - PAD,
        HEIGHT - 6,
        points[-1][0].isoformat(),
    )
