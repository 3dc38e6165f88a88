"""Default QGIS (QML) and SLD styles for the layers asm_pace writes.

The styles are stored in a GeoPackage's ``layer_styles`` table (the table QGIS
itself writes when a user saves a style "in the database"), so QGIS draws the
classes in colour as soon as the layer is opened. The QML is written by hand
as a QGIS 3 ``<qgis>`` document with a ``categorizedSymbol`` renderer (sites as
points, buffers and clusters by radius) or a ``RuleRenderer`` (footprints with a
centre marker when zoomed out, protected areas, ecoregions, landscapes); the SLD
(Symbology Encoding 1.1) carries the same rules for ArcGIS Pro and GeoServer.
The same renderers go into the QGIS project (:func:`qgs_project`, a ``.qgs``
document written without QGIS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from xml.sax.saxutils import quoteattr

__all__ = [
    "PACE_CLASS_COLORS",
    "PACE_CLASS_LABELS",
    "FOOTPRINT_MARKER_SCALE",
    "Category",
    "Look",
    "Rule",
    "Style",
    "categories_for_pace_class",
    "categories_for_zones",
    "sld_categorized",
    "format_category_value",
    "style_sites",
    "certainty_rules",
    "style_zones",
    "style_protected_areas",
    "style_ecoregions",
    "style_landscapes",
    "style_downstream",
    "DOWNSTREAM_COLORS",
    "style_kbas",
    "qgs_project",
    "ProjectLayer",
    "equals",
    "renderer_categorized",
    "renderer_rules",
    "sld_rules",
]

#: Fill colour of each ASM-PACE class (hex RGB), most to least constrained.
PACE_CLASS_COLORS: dict[str, str] = {
    "protected_area": "#d7301f",
    "priority_landscape": "#fc8d59",
    "critical_ecosystem": "#fdd835",
    "not_eligible": "#9e9e9e",
}

#: Legend label of each ASM-PACE class, in plain words.
PACE_CLASS_LABELS: dict[str, str] = {
    "protected_area": "Protected area",
    "priority_landscape": "WWF priority landscape",
    "critical_ecosystem": "Critical ecosystem (Global 200 ecoregion)",
    "not_eligible": "Not eligible",
}

# blues, light to dark, for buffer radii (ColorBrewer Blues)
_ZONE_COLORS = ["#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7"]
# outlines of buffer radii, nearest first: QGIS pen style and width (mm)
_ZONE_LINES = [
    ("solid", 0.6),
    ("dash", 0.5),
    ("dot", 0.45),
    ("dash dot", 0.4),
    ("dash dot dot", 0.35),
]

#: Scale denominator beyond which (zoomed out) footprints get a marker at their centre.
FOOTPRINT_MARKER_SCALE = 100_000


@dataclass(frozen=True)
class Look:
    """How a class is drawn: fill, outline and (for points and centre markers) size.

    ``fill_style`` and ``dash`` are QGIS's brush and pen style names (``"solid"``,
    ``"no"``, ``"b_diagonal"``...; ``"solid"``, ``"dash"``, ``"dot"``...); widths and
    sizes in millimetres.
    """

    color: str
    fill_alpha: int = 255
    fill_style: str = "solid"
    outline: str = "#232323"
    width: float = 0.26
    dash: str = "solid"
    size: float = 3.0
    outline_alpha: int = 255


@dataclass(frozen=True)
class Category:
    """One class of a categorised style: the attribute value, its colour and legend label."""

    value: str
    color: str
    label: str
    #: How it is drawn (by default: filled in ``color``).
    look: Look | None = None


def format_category_value(value: object) -> str:
    """Format a value as QGIS compares it (``QVariant.toString``): ``10.0`` -> ``"10"``.

    Examples
    --------
    >>> format_category_value(10.0), format_category_value(2.5), format_category_value("a")
    ('10', '2.5', 'a')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def categories_for_pace_class() -> list[Category]:
    """The four ASM-PACE classes, in precedence order."""
    return [Category(k, PACE_CLASS_COLORS[k], PACE_CLASS_LABELS[k]) for k in PACE_CLASS_COLORS]


def categories_for_zones(
    radii: Sequence[float], inner: Sequence[float] | None = None, *, hatched: bool = False
) -> list[Category]:
    """One category per buffer radius (or ring), darkest for the nearest zone.

    Buffers are outlines only, each radius with its own dash and width (solid for the
    nearest), so nested buffers read apart at country scale; ``hatched`` (clusters) fills
    them with diagonal hatching in the radius's colour under a solid outline.

    Parameters
    ----------
    radii : sequence of float
        The distinct outer radii in km, in any order.
    inner : sequence of float, optional
        The inner radius of each ring (same order as ``radii``) for ring labels.
    hatched : bool
        Hatched fill (clusters) instead of outline only (buffers).

    Examples
    --------
    >>> [c.label for c in categories_for_zones([10.0, 1.0])]
    ['Within 1 km', 'Within 10 km']
    >>> [c.label for c in categories_for_zones([1.0, 10.0], inner=[0.0, 1.0])]
    ['0-1 km', '1-10 km']
    >>> [c.label for c in categories_for_zones([0.0, 1.0], inner=[0.0, 0.0])]
    ['Footprint', '0-1 km']
    """
    pairs = sorted(zip(radii, inner if inner is not None else [None] * len(radii), strict=True))
    out = []
    for i, (r, ri) in enumerate(pairs):
        color = _ZONE_COLORS[min(i, len(_ZONE_COLORS) - 1)]
        rtxt = format_category_value(float(r))
        if float(r) == 0.0:  # buffers(footprint_zone=True): the footprint itself
            label = "Footprint"
        elif ri is None:
            label = f"Within {rtxt} km"
        else:
            label = f"{format_category_value(float(ri))}-{rtxt} km"
        dash, width = _ZONE_LINES[min(i, len(_ZONE_LINES) - 1)]
        if hatched:  # a light hatch under the cluster's solid outline
            look = Look(color, 90, "b_diagonal", outline=color, width=0.5)
        else:  # outlines only, lighter than the clusters'
            look = Look(color, 0, "no", outline=color, width=width, dash=dash, outline_alpha=190)
        out.append(Category(format_category_value(float(r)), color, label, look))
    return out


def _rgba(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _props(props: dict[str, str]) -> str:
    """Symbol-layer properties written both ways QGIS 3 reads them (new ``Option`` map, old ``prop``)."""
    opts = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in props.items()
    )
    old = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{old}'


def _layer(cls: str, props: dict[str, str], inner: str = "") -> str:
    return f'<layer class="{cls}" enabled="1" pass="0" locked="0">{_props(props)}{inner}</layer>'


def _marker_layer(look: Look) -> str:
    return _layer(
        "SimpleMarker",
        {
            "name": "circle",
            "color": _rgba(look.color, look.fill_alpha),
            "outline_color": _rgba(look.outline),
            "outline_style": look.dash,
            "outline_width": "0.3" if look.dash == "solid" else f"{look.width:g}",
            "outline_width_unit": "MM",
            "size": f"{look.size:g}",
            "size_unit": "MM",
            "angle": "0",
            "joinstyle": "bevel",
            "scale_method": "diameter",
            "vertical_anchor_point": "1",
            "horizontal_anchor_point": "1",
            "offset": "0,0",
            "offset_unit": "MM",
        },
    )


def _symbol_xml(stype: str, name: str, layers: str) -> str:
    return (
        f'<symbol type="{stype}" name={quoteattr(name)} alpha="1" clip_to_extent="1"'
        f' force_rhr="0">{layers}</symbol>'
    )


def _symbol(name: str, geometry: str, look: Look, *, centroid: bool = False) -> str:
    """A QGIS symbol: a marker, a line, or a fill (``centroid``: a marker at the centre)."""
    if geometry == "point":
        return _symbol_xml("marker", name, _marker_layer(look))
    if geometry == "line":
        line = {
            "line_color": _rgba(look.outline if look.fill_alpha == 0 else look.color),
            "line_style": look.dash,
            "line_width": f"{look.width:g}",
            "line_width_unit": "MM",
            "capstyle": "square",
            "joinstyle": "bevel",
        }
        return _symbol_xml("line", name, _layer("SimpleLine", line))
    if centroid:  # a marker on the polygon (inside it), one per feature
        marker = _symbol_xml("marker", f"@{name}@0", _marker_layer(look))
        props = {
            "point_on_surface": "1",
            "point_on_all_parts": "0",
            "clip_points": "0",
            "clip_on_current_part_only": "0",
        }
        return _symbol_xml("fill", name, _layer("CentroidFill", props, marker))
    fill = {
        "color": _rgba(look.color, look.fill_alpha),
        "style": look.fill_style if look.fill_alpha else "no",
        "outline_color": _rgba(look.outline, look.outline_alpha),
        "outline_style": look.dash,
        "outline_width": f"{look.width:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_unit": "MM",
    }
    return _symbol_xml("fill", name, _layer("SimpleFill", fill))


def _category_look(c: Category) -> Look:
    return c.look if c.look is not None else Look(c.color)


def renderer_categorized(attribute: str, categories: Sequence[Category], *, geometry: str) -> str:
    """A ``categorizedSymbol`` ``<renderer-v2>`` element on ``attribute``.

    Examples
    --------
    >>> xml = renderer_categorized("pace_class", categories_for_pace_class(), geometry="point")
    >>> 'type="categorizedSymbol"' in xml and xml.count("<category ") == 4
    True
    """
    cats = "".join(
        f'<category symbol="{i}" value={quoteattr(c.value)} label={quoteattr(c.label)} render="true"/>'
        for i, c in enumerate(categories)
    )
    syms = "".join(_symbol(str(i), geometry, _category_look(c)) for i, c in enumerate(categories))
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} symbollevels="0"'
        ' enableorderby="0" forceraster="0" referencescale="-1">'
        f"<categories>{cats}</categories><symbols>{syms}</symbols>"
        "<rotation/><sizescale/>"
        "</renderer-v2>"
    )


def _qml(renderer: str, geometry: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">'
        f"{renderer}"
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerGeometryType>"
        + {"point": "0", "line": "1"}.get(geometry, "2")
        + "</layerGeometryType></qgis>\n"
    )


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rule:
    """One rule of a QGIS rule-based renderer (and of its SLD).

    ``expression`` is a QGIS filter (``"ELSE"``: every feature no other rule took) and
    ``sld_filter`` the same as an OGC filter body (empty: none, or ``ElseFilter`` with
    ``ELSE``). A rule without ``look`` only groups its ``children`` (which inherit its
    filter). The rule applies from scale 1:``min_denominator`` (zoomed in) to
    1:``max_denominator`` (zoomed out); 0 is no limit. ``centroid`` draws the look as a
    marker inside the polygon.
    """

    label: str
    look: Look | None = None
    expression: str = "ELSE"
    sld_filter: str = ""
    centroid: bool = False
    min_denominator: float = 0.0
    max_denominator: float = 0.0
    children: tuple[Rule, ...] = ()


def equals(attribute: str, value: str) -> tuple[str, str]:
    """A QGIS expression and an OGC filter body that test ``attribute = value``.

    Examples
    --------
    >>> equals("designation_type", "International")[0]
    '"designation_type" = \\'International\\''
    """
    name = attribute.replace('"', '""')
    text = value.replace("'", "''")
    ogc = (
        f"<ogc:PropertyIsEqualTo><ogc:PropertyName>{_esc(attribute)}</ogc:PropertyName>"
        f"<ogc:Literal>{_esc(value)}</ogc:Literal></ogc:PropertyIsEqualTo>"
    )
    return f"\"{name}\" = '{text}'", ogc


def _rules_xml(rules: Sequence[Rule], geometry: str, symbols: list[str], prefix: str) -> str:
    out = []
    for i, rule in enumerate(rules):
        key = f"{prefix}{i}"
        attrs = f"key={quoteattr('{' + key + '}')} label={quoteattr(rule.label)}"
        if rule.expression:
            attrs += f" filter={quoteattr(rule.expression)}"
        if rule.min_denominator:
            attrs += f' scalemindenom="{rule.min_denominator:g}"'
        if rule.max_denominator:
            attrs += f' scalemaxdenom="{rule.max_denominator:g}"'
        if rule.look is not None:
            attrs += f' symbol="{len(symbols)}"'
            symbols.append(_symbol(str(len(symbols)), geometry, rule.look, centroid=rule.centroid))
        inner = _rules_xml(rule.children, geometry, symbols, f"{key}-")
        out.append(f"<rule {attrs}>{inner}</rule>")
    return "".join(out)


def renderer_rules(rules: Sequence[Rule], *, geometry: str) -> str:
    """A ``RuleRenderer`` ``<renderer-v2>`` element.

    Examples
    --------
    >>> xml = renderer_rules(style_landscapes_rules(), geometry="polygon")
    >>> xml.startswith('<renderer-v2 type="RuleRenderer"') and xml.count("<rule ") == 1
    True
    """
    symbols: list[str] = []
    body = _rules_xml(rules, geometry, symbols, "r")
    return (
        '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0"'
        f' referencescale="-1"><rules key="{{r}}">{body}</rules>'
        f"<symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )


# --------------------------------------------------------------------------- SLD
_SLD_DASHES = {"dash": "5 2", "dot": "1 2", "dash dot": "5 2 1 2", "dash dot dot": "5 2 1 2 1 2"}


def _sld_symbolizer(look: Look, geometry: str, *, centroid: bool = False) -> str:
    stroke_width = max(1.0, look.width * 96 / 25.4)  # mm -> pixels at 96 dpi
    dash = _SLD_DASHES.get(look.dash)
    if geometry == "point" or centroid:
        fill = (
            f'<se:Fill><se:SvgParameter name="fill">{look.color}</se:SvgParameter></se:Fill>'
            if look.fill_alpha
            else ""
        )
        return (
            "<se:PointSymbolizer><se:Graphic><se:Mark>"
            f"<se:WellKnownName>circle</se:WellKnownName>{fill}"
            f'<se:Stroke><se:SvgParameter name="stroke">{look.outline}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">'
            + (f"{stroke_width:.0f}</se:SvgParameter>" if dash else "1</se:SvgParameter>")
            + (f'<se:SvgParameter name="stroke-dasharray">{dash}</se:SvgParameter>' if dash else "")
            + "</se:Stroke>"
            f"</se:Mark><se:Size>{look.size * 96 / 25.4:.0f}</se:Size></se:Graphic>"
            "</se:PointSymbolizer>"
        )
    stroke = (
        f'<se:Stroke><se:SvgParameter name="stroke">{look.outline}</se:SvgParameter>'
        f'<se:SvgParameter name="stroke-width">{stroke_width:.0f}</se:SvgParameter>'
        + (f'<se:SvgParameter name="stroke-dasharray">{dash}</se:SvgParameter>' if dash else "")
        + "</se:Stroke>"
    )
    if geometry == "line":
        return f"<se:LineSymbolizer>{stroke}</se:LineSymbolizer>"
    fill = ""
    if look.fill_alpha and look.fill_style != "no":
        # a hatch is given as a light fill (SLD hatching is not read alike by every client)
        opacity = look.fill_alpha / 255 if look.fill_style == "solid" else 0.25
        fill = (
            f'<se:Fill><se:SvgParameter name="fill">{look.color}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{opacity:.2g}</se:SvgParameter></se:Fill>'
        )
    return f"<se:PolygonSymbolizer>{fill}{stroke}</se:PolygonSymbolizer>"


def _sld_rule(
    name: str, title: str, filter_body: str, symbolizer: str, *, scales: tuple[float, float]
) -> str:
    if filter_body == "ELSE":
        flt = "<se:ElseFilter/>"
    elif filter_body:
        flt = f'<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">{filter_body}</ogc:Filter>'
    else:
        flt = ""
    low, high = scales
    scale = (f"<se:MinScaleDenominator>{low:g}</se:MinScaleDenominator>" if low else "") + (
        f"<se:MaxScaleDenominator>{high:g}</se:MaxScaleDenominator>" if high else ""
    )
    return (
        f"<se:Rule><se:Name>{_esc(name)}</se:Name>"
        f"<se:Description><se:Title>{_esc(title)}</se:Title></se:Description>"
        f"{flt}{scale}{symbolizer}</se:Rule>"
    )


def _sld_document(layer: str, rules: Sequence[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld"'
        ' xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0"'
        ' xsi:schemaLocation="http://www.opengis.net/sld'
        ' http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{_esc(layer)}</se:Name><UserStyle>"
        f"<se:Name>{_esc(layer)}</se:Name><se:FeatureTypeStyle>{''.join(rules)}"
        "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


def sld_categorized(
    layer: str,
    attribute: str,
    categories: Sequence[Category],
    *,
    geometry: str,
) -> str:
    """The same classes as an SLD 1.1 (Symbology Encoding) document.

    Examples
    --------
    >>> sld = sld_categorized("sites", "pace_class", categories_for_pace_class(), geometry="point")
    >>> sld.count("<se:Rule>")
    4
    """
    rules = [
        _sld_rule(
            c.value,
            c.label,
            equals(attribute, c.value)[1],
            _sld_symbolizer(_category_look(c), geometry),
            scales=(0.0, 0.0),
        )
        for c in categories
    ]
    return _sld_document(layer, rules)


def sld_rules(layer: str, rules: Sequence[Rule], *, geometry: str) -> str:
    """The rules of a rule-based style as an SLD 1.1 document (nested rules flattened).

    Examples
    --------
    >>> sld_rules("ecoregions", style_ecoregions_rules(), geometry="polygon").count("<se:Rule>")
    2
    """
    out: list[str] = []

    def walk(items: Sequence[Rule], inherited: str) -> None:
        for rule in items:
            flt = "ELSE" if rule.expression == "ELSE" else (rule.sld_filter or inherited)
            if rule.look is not None:
                sym = _sld_symbolizer(rule.look, geometry, centroid=rule.centroid)
                scales = (rule.min_denominator, rule.max_denominator)
                out.append(_sld_rule(rule.label, rule.label, flt, sym, scales=scales))
            walk(rule.children, flt)

    walk(rules, "")
    return _sld_document(layer, out)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- layer styles
@dataclass(frozen=True)
class Style:
    """A layer's default style: the QGIS renderer element, its SLD and a description."""

    renderer: str
    sld: str
    description: str
    geometry: str

    @property
    def qml(self) -> str:
        """The style as a QGIS 3 QML document (for ``layer_styles``)."""
        return _qml(self.renderer, self.geometry)


def footprint_rules() -> list[Rule]:
    """Footprints by class: the polygon, plus a marker at its centre when zoomed out.

    A footprint of a few hectares is a speck at country scale; beyond 1:100 000
    (:data:`FOOTPRINT_MARKER_SCALE`) each also gets a marker in its class's colour.
    """
    rules = []
    for c in categories_for_pace_class():
        test, ogc = equals("pace_class", c.value)
        rules.append(
            Rule(
                c.label,
                expression=test,
                sld_filter=ogc,
                children=(
                    Rule(f"{c.label}: footprint", Look(c.color), expression=""),
                    Rule(
                        f"{c.label}: centre (zoomed out)",
                        Look(c.color, size=2.4),
                        expression="",
                        centroid=True,
                        min_denominator=FOOTPRINT_MARKER_SCALE,
                    ),
                ),
            )
        )
    return rules


#: How a site whose location uncertainty reaches across a protected-area boundary
#: (``pa_certainty = 'possible'``) is drawn over its class: a dashed black outline.
POSSIBLE_LOOK = {"outline": "#000000", "width": 0.6, "dash": "dash"}


def certainty_rules(geometry: str) -> list[Rule]:
    """Sites by class, those whose class may differ (``pa_certainty = 'possible'``) dashed.

    Points: each class's circle, with a dashed black ring around it when
    ``possible``; footprints: :func:`footprint_rules` plus a dashed black outline
    drawn over the ``possible`` ones. The ring and outline are drawn over the
    class's symbol (no ELSE rule, which QGIS applies only while rendering).

    Examples
    --------
    >>> [r.label for r in certainty_rules("point")[0].children]
    ['Protected area', 'Protected area: may lie elsewhere (pa_certainty possible)']
    """
    test, ogc = equals("pa_certainty", "possible")
    rules = footprint_rules() if geometry == "polygon" else []
    if geometry == "polygon":
        out = []
        for rule in rules:
            dashed = Rule(
                f"{rule.label}: may lie elsewhere (pa_certainty possible)",
                Look(rule.children[0].look.color, 0, "no", **POSSIBLE_LOOK),  # type: ignore[union-attr]
                expression=test,
                sld_filter=f"<ogc:And>{rule.sld_filter}{ogc}</ogc:And>",
            )
            out.append(replace(rule, children=(*rule.children, dashed)))
        return out
    for c in categories_for_pace_class():
        klass, klass_ogc = equals("pace_class", c.value)
        possible = Rule(
            f"{c.label}: may lie elsewhere (pa_certainty possible)",
            Look(c.color, 0, size=4.6, **POSSIBLE_LOOK),
            expression=test,
            sld_filter=f"<ogc:And>{klass_ogc}{ogc}</ogc:And>",
        )
        rules.append(
            Rule(
                c.label,
                expression=klass,
                sld_filter=klass_ogc,
                children=(Rule(c.label, Look(c.color), expression=""), possible),
            )
        )
    return rules


def style_sites(geometry: str, name: str = "sites", *, certainty: bool = False) -> Style:
    """Sites by ASM-PACE class: circles for points, footprints (with centre markers) else.

    ``certainty``: the layer has ``pa_certainty`` (a run with location uncertainties);
    sites whose class may differ get a dashed outline (:func:`certainty_rules`).
    """
    what = "asm_pace default style: ASM-PACE class"
    if certainty:
        rules = certainty_rules(geometry)
        return Style(
            renderer_rules(rules, geometry=geometry),
            sld_rules(name, rules, geometry=geometry),
            what + ", a dashed outline where the location uncertainty crosses a protected-area "
            "boundary (pa_certainty possible)",
            geometry,
        )
    if geometry == "polygon":
        rules = footprint_rules()
        return Style(
            renderer_rules(rules, geometry=geometry),
            sld_rules(name, rules, geometry=geometry),
            what + " (footprints, with a centre marker when zoomed out)",
            geometry,
        )
    cats = categories_for_pace_class()
    return Style(
        renderer_categorized("pace_class", cats, geometry=geometry),
        sld_categorized(name, "pace_class", cats, geometry=geometry),
        what,
        geometry,
    )


def style_zones(
    name: str,
    radii: Sequence[float],
    inner: Sequence[float] | None = None,
    *,
    hatched: bool,
    geometry: str = "polygon",
) -> Style:
    """Buffers (outlines, a dash per radius) or clusters (hatched) by ``radius_km``."""
    cats = categories_for_zones(radii, inner, hatched=hatched)
    what = "cluster radius, hatched" if hatched else "buffer radius, outlines"
    return Style(
        renderer_categorized("radius_km", cats, geometry=geometry),
        sld_categorized(name, "radius_km", cats, geometry=geometry),
        f"asm_pace default style: {what}",
        geometry,
    )


def style_protected_areas_rules() -> list[Rule]:
    """Protected areas: semi-transparent greens, international designations bluer."""
    test, ogc = equals("designation_type", "International")
    return [
        Rule(
            "International designation (World Heritage, Ramsar...)",
            Look("#1b9e77", 70, outline="#00664d", width=0.4),
            expression=test,
            sld_filter=ogc,
        ),
        Rule(
            "Protected area (national or other designation)",
            Look("#41ab5d", 80, outline="#006d2c", width=0.4),
        ),
    ]


def style_ecoregions_rules() -> list[Rule]:
    """Ecoregions: Global 200 in light yellow, the others as thin grey outlines."""
    ogc = (
        "<ogc:PropertyIsEqualTo><ogc:PropertyName>is_g200</ogc:PropertyName>"
        "<ogc:Literal>1</ogc:Literal></ogc:PropertyIsEqualTo>"
    )
    return [
        Rule(
            "Global 200 ecoregion",
            Look(PACE_CLASS_COLORS["critical_ecosystem"], 50, outline="#b8a000", width=0.2),
            expression='"is_g200"',
            sld_filter=ogc,
        ),
        Rule("Other ecoregion", Look("#bdbdbd", 0, "no", outline="#9e9e9e", width=0.2)),
    ]


def style_landscapes_rules() -> list[Rule]:
    """Priority landscapes: a dashed orange outline over a faint fill."""
    colour = PACE_CLASS_COLORS["priority_landscape"]
    return [
        Rule(
            "WWF priority landscape",
            Look(colour, 30, outline="#e6550d", width=0.7, dash="dash"),
            expression="",
        )
    ]


def _rule_style(name: str, rules: list[Rule], what: str) -> Style:
    return Style(
        renderer_rules(rules, geometry="polygon"),
        sld_rules(name, rules, geometry="polygon"),
        f"asm_pace default style: {what}",
        "polygon",
    )


def style_protected_areas(name: str = "protected_areas") -> Style:
    """The protected areas used, by designation type."""
    return _rule_style(name, style_protected_areas_rules(), "protected areas")


def style_ecoregions(name: str = "ecoregions") -> Style:
    """The ecoregions used, Global 200 or not."""
    return _rule_style(name, style_ecoregions_rules(), "ecoregions, Global 200 or not")


def style_landscapes(name: str = "priority_landscapes") -> Style:
    """The priority landscapes used, outlined."""
    return _rule_style(name, style_landscapes_rules(), "priority landscapes")


def style_kbas_rules() -> list[Rule]:
    """Key Biodiversity Areas: AZE sites in a hatched crimson (protected under the PACE
    definition), the other KBAs as a dotted purple outline (context only)."""
    ogc = (
        "<ogc:PropertyIsEqualTo><ogc:PropertyName>aze</ogc:PropertyName>"
        "<ogc:Literal>1</ogc:Literal></ogc:PropertyIsEqualTo>"
    )
    return [
        Rule(
            "Alliance for Zero Extinction site (protected under ASM-PACE)",
            Look("#a50f15", 200, "b_diagonal", outline="#67000d", width=0.6),
            expression='"aze"',
            sld_filter=ogc,
        ),
        Rule(
            "Key Biodiversity Area",
            Look("#756bb1", 0, "no", outline="#54278f", width=0.6, dash="dot"),
        ),
    ]


def style_kbas(name: str = "kbas") -> Style:
    """The Key Biodiversity Areas used, AZE sites apart."""
    return _rule_style(name, style_kbas_rules(), "Key Biodiversity Areas, AZE sites apart")


#: Colour of each downstream path by how it ended (``asm_pace.flowpaths`` statuses).
DOWNSTREAM_COLORS: dict[str, str] = {
    "max_km reached": "#08519c",
    "outlet": "#3182bd",
    "endorheic sink": "#6a51a3",
    "truncated network": "#e6550d",
    "cycle detected": "#a50f15",
}


def style_downstream(name: str = "downstream") -> Style:
    """Each site's path downstream, a blue line, coloured by how the path ended.

    Examples
    --------
    >>> style_downstream().qml.count('type="line"')
    5
    """
    cats = [
        Category(status, colour, f"Path downstream: {status}", Look(colour, width=0.7))
        for status, colour in DOWNSTREAM_COLORS.items()
    ]
    return Style(
        renderer_categorized("downstream_status", cats, geometry="line"),
        sld_categorized(name, "downstream_status", cats, geometry="line"),
        "asm_pace default style: paths downstream, by how they end",
        "line",
    )


# --------------------------------------------------------------------------- QGIS project
@dataclass(frozen=True)
class ProjectLayer:
    """One layer of a QGIS project: a GeoPackage layer, its geometry and style.

    ``geometry`` is ``"point"``, ``"line"``, ``"polygon"`` or ``None`` (a table);
    ``wkb_type`` the QGIS name of its geometry type (``"Point"``, ``"MultiPolygon"``...);
    ``crs_wkt`` and ``crs_authid`` its CRS; ``bounds`` its extent.
    """

    name: str
    geometry: str | None
    wkb_type: str
    style: Style | None
    crs_wkt: str
    crs_authid: str
    bounds: tuple[float, float, float, float] | None


_QGS_GEOMETRY = {"point": "Point", "line": "Line", "polygon": "Polygon", None: "No geometry"}


def _srs(wkt: str, authid: str) -> str:
    return f"<spatialrefsys><wkt>{_esc(wkt)}</wkt><authid>{_esc(authid)}</authid></spatialrefsys>"


def _box(bounds: tuple[float, float, float, float]) -> str:
    return "".join(
        f"<{k}>{v!r}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True)
    )


def qgs_project(
    layers: Sequence[ProjectLayer],
    *,
    gpkg_name: str,
    extent: tuple[float, float, float, float],
    crs_wkt: str,
    crs_authid: str,
    title: str = "",
) -> str:
    """A QGIS 3 project (``.qgs`` XML) showing GeoPackage layers, styled, at ``extent``.

    Written without QGIS: the layers are read from ``./<gpkg_name>`` (a path relative to
    the project, so the pair can be moved together), the first layer of ``layers`` is
    drawn on top, and the project opens at ``extent`` (in the project CRS).

    Examples
    --------
    >>> layer = ProjectLayer("sites", "point", "Point", style_sites("point"),
    ...                      "GEOGCRS[...]", "EPSG:4326", (0.0, 0.0, 1.0, 1.0))
    >>> xml = qgs_project([layer], gpkg_name="out.gpkg", extent=(0, 0, 1, 1),
    ...                   crs_wkt="GEOGCRS[...]", crs_authid="EPSG:4326")
    >>> "<datasource>./out.gpkg|layername=sites</datasource>" in xml
    True
    """
    srs = _srs(crs_wkt, crs_authid)
    ids = [f"{layer.name}_asm_pace_{i}" for i, layer in enumerate(layers)]
    tree, maplayers = [], []
    for lid, layer in zip(ids, layers, strict=True):
        source = f"./{gpkg_name}|layername={layer.name}"
        tree.append(
            f"<layer-tree-layer name={quoteattr(layer.name)} id={quoteattr(lid)}"
            f' source={quoteattr(source)} providerKey="ogr" checked="Qt::Checked"'
            ' expanded="1"><customproperties/></layer-tree-layer>'
        )
        extent_xml = ""
        if layer.bounds is not None:
            extent_xml = f"<extent>{_box(layer.bounds)}</extent>"
        style = ""
        if layer.style is not None:
            style = layer.style.renderer
        maplayers.append(
            f'<maplayer type="vector" geometry="{_QGS_GEOMETRY[layer.geometry]}"'
            f' wkbType="{_esc(layer.wkb_type)}" hasScaleBasedVisibilityFlag="0"'
            ' minScale="100000000" maxScale="0" readOnly="0" labelsEnabled="0"'
            ' styleCategories="AllStyleCategories">'
            f"{extent_xml}<id>{_esc(lid)}</id><datasource>{_esc(source)}</datasource>"
            f"<layername>{_esc(layer.name)}</layername>"
            f"<srs>{_srs(layer.crs_wkt, layer.crs_authid)}</srs>"
            '<provider encoding="UTF-8">ogr</provider>'
            f"{style}<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
            "<layerOpacity>1</layerOpacity></maplayer>"
        )
    order = "".join(f"<layer id={quoteattr(lid)}/>" for lid in reversed(ids))
    box = dict(zip(("xmin", "ymin", "xmax", "ymax"), (f"{v!r}" for v in extent), strict=True))
    view = " ".join(f'{k}="{v}"' for k, v in box.items())
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.22.0" projectname={quoteattr(title)}>'
        f'<homePath path=""/><title>{_esc(title)}</title>'
        f"<projectCrs>{srs}</projectCrs>"
        f"<layer-tree-group><customproperties/>{''.join(tree)}</layer-tree-group>"
        '<mapcanvas name="theMapCanvas" annotationsVisible="1"><units>degrees</units>'
        f"<extent>{_box(extent)}</extent><rotation>0</rotation>"
        f"<destinationsrs>{srs}</destinationsrs><rendermaptile>0</rendermaptile></mapcanvas>"
        f"<projectlayers>{''.join(maplayers)}</projectlayers>"
        f"<layerorder>{order}</layerorder>"
        '<properties><Paths><Absolute type="bool">false</Absolute></Paths>'
        '<SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled></SpatialRefSys>'
        "</properties>"
        f'<ProjectViewSettings UseProjectScales="0" rotation="0"><Scales/>'
        f"<DefaultViewExtent {view}>{srs}</DefaultViewExtent></ProjectViewSettings>"
        "</qgis>\n"
    )
