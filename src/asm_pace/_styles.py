"""Default QGIS (QML) and SLD styles for the layers asm_pace writes.

The styles are stored in a GeoPackage's ``layer_styles`` table (the table QGIS
itself writes when a user saves a style "in the database"), so QGIS draws the
classes in colour as soon as the layer is opened. The QML is written by hand
as a QGIS 3 ``<qgis>`` document with a ``categorizedSymbol`` renderer; the SLD
(Symbology Encoding 1.1) carries the same rules for ArcGIS Pro and GeoServer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

__all__ = [
    "PACE_CLASS_COLORS",
    "PACE_CLASS_LABELS",
    "Category",
    "categories_for_pace_class",
    "categories_for_zones",
    "qml_categorized",
    "sld_categorized",
    "format_category_value",
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


@dataclass(frozen=True)
class Category:
    """One class of a categorised style: the attribute value, its colour and legend label."""

    value: str
    color: str
    label: str


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
    radii: Sequence[float], inner: Sequence[float] | None = None
) -> list[Category]:
    """One category per buffer radius (or ring), darkest for the nearest zone.

    Parameters
    ----------
    radii : sequence of float
        The distinct outer radii in km, in any order.
    inner : sequence of float, optional
        The inner radius of each ring (same order as ``radii``) for ring labels.

    Examples
    --------
    >>> [c.label for c in categories_for_zones([10.0, 1.0])]
    ['Within 1 km', 'Within 10 km']
    >>> [c.label for c in categories_for_zones([1.0, 10.0], inner=[0.0, 1.0])]
    ['0-1 km', '1-10 km']
    """
    pairs = sorted(zip(radii, inner if inner is not None else [None] * len(radii), strict=True))
    out = []
    for i, (r, ri) in enumerate(pairs):
        color = _ZONE_COLORS[min(i, len(_ZONE_COLORS) - 1)]
        rtxt = format_category_value(float(r))
        if ri is None:
            label = f"Within {rtxt} km"
        else:
            label = f"{format_category_value(float(ri))}-{rtxt} km"
        out.append(Category(format_category_value(float(r)), color, label))
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


def _symbol(name: str, geometry: str, color: str, *, fill_alpha: int) -> str:
    if geometry == "point":
        props = {
            "name": "circle",
            "color": _rgba(color),
            "outline_color": "35,35,35,255",
            "outline_style": "solid",
            "outline_width": "0.3",
            "outline_width_unit": "MM",
            "size": "3",
            "size_unit": "MM",
            "angle": "0",
            "joinstyle": "bevel",
            "scale_method": "diameter",
            "vertical_anchor_point": "1",
            "horizontal_anchor_point": "1",
            "offset": "0,0",
            "offset_unit": "MM",
        }
        cls, stype = "SimpleMarker", "marker"
    elif geometry == "line":
        props = {
            "line_color": _rgba(color),
            "line_style": "solid",
            "line_width": "0.6",
            "line_width_unit": "MM",
            "capstyle": "square",
            "joinstyle": "bevel",
        }
        cls, stype = "SimpleLine", "line"
    else:
        props = {
            "color": _rgba(color, fill_alpha),
            "style": "solid",
            "outline_color": _rgba(color) if fill_alpha < 255 else "35,35,35,255",
            "outline_style": "solid",
            "outline_width": "0.5" if fill_alpha < 255 else "0.26",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
            "offset": "0,0",
            "offset_unit": "MM",
        }
        cls, stype = "SimpleFill", "fill"
    return (
        f'<symbol type="{stype}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" pass="0" locked="0">{_props(props)}</layer>'
        "</symbol>"
    )


def qml_categorized(
    attribute: str, categories: Sequence[Category], *, geometry: str, fill_alpha: int = 255
) -> str:
    """A QGIS 3 QML document with a categorised renderer on ``attribute``.

    Parameters
    ----------
    attribute : str
        The field the classes are read from.
    categories : sequence of Category
    geometry : {"point", "line", "polygon"}
    fill_alpha : int
        Fill opacity 0-255 for polygons (buffers use a light fill and a solid outline).

    Examples
    --------
    >>> qml = qml_categorized("pace_class", categories_for_pace_class(), geometry="point")
    >>> 'type="categorizedSymbol"' in qml and qml.count("<category ") == 4
    True
    """
    cats = "".join(
        f'<category symbol="{i}" value={quoteattr(c.value)} label={quoteattr(c.label)} render="true"/>'
        for i, c in enumerate(categories)
    )
    syms = "".join(
        _symbol(str(i), geometry, c.color, fill_alpha=fill_alpha) for i, c in enumerate(categories)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">'
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} symbollevels="0"'
        ' enableorderby="0" forceraster="0" referencescale="-1">'
        f"<categories>{cats}</categories><symbols>{syms}</symbols>"
        "<rotation/><sizescale/>"
        "</renderer-v2>"
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerGeometryType>"
        + {"point": "0", "line": "1"}.get(geometry, "2")
        + "</layerGeometryType></qgis>\n"
    )


def sld_categorized(
    layer: str,
    attribute: str,
    categories: Sequence[Category],
    *,
    geometry: str,
    fill_opacity: float = 1.0,
) -> str:
    """The same classes as an SLD 1.1 (Symbology Encoding) document.

    Examples
    --------
    >>> sld = sld_categorized("sites", "pace_class", categories_for_pace_class(), geometry="point")
    >>> sld.count("<se:Rule>")
    4
    """
    rules = []
    for c in categories:
        if geometry == "point":
            sym = (
                "<se:PointSymbolizer><se:Graphic><se:Mark>"
                "<se:WellKnownName>circle</se:WellKnownName>"
                f'<se:Fill><se:SvgParameter name="fill">{c.color}</se:SvgParameter></se:Fill>'
                '<se:Stroke><se:SvgParameter name="stroke">#232323</se:SvgParameter>'
                '<se:SvgParameter name="stroke-width">1</se:SvgParameter></se:Stroke>'
                "</se:Mark><se:Size>11</se:Size></se:Graphic></se:PointSymbolizer>"
            )
        elif geometry == "line":
            sym = (
                "<se:LineSymbolizer><se:Stroke>"
                f'<se:SvgParameter name="stroke">{c.color}</se:SvgParameter>'
                '<se:SvgParameter name="stroke-width">2</se:SvgParameter>'
                "</se:Stroke></se:LineSymbolizer>"
            )
        else:
            stroke = c.color if fill_opacity < 1 else "#232323"
            sym = (
                "<se:PolygonSymbolizer><se:Fill>"
                f'<se:SvgParameter name="fill">{c.color}</se:SvgParameter>'
                f'<se:SvgParameter name="fill-opacity">{fill_opacity:g}</se:SvgParameter>'
                "</se:Fill><se:Stroke>"
                f'<se:SvgParameter name="stroke">{stroke}</se:SvgParameter>'
                '<se:SvgParameter name="stroke-width">1</se:SvgParameter>'
                "</se:Stroke></se:PolygonSymbolizer>"
            )
        rules.append(
            "<se:Rule>"
            f"<se:Name>{_esc(c.value)}</se:Name>"
            f"<se:Description><se:Title>{_esc(c.label)}</se:Title></se:Description>"
            '<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsEqualTo>'
            f"<ogc:PropertyName>{_esc(attribute)}</ogc:PropertyName>"
            f"<ogc:Literal>{_esc(c.value)}</ogc:Literal>"
            "</ogc:PropertyIsEqualTo></ogc:Filter>"
            f"{sym}</se:Rule>"
        )
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


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
