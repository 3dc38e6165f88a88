"""Rules read from attributes: Global 200 fields, WDPA STATUS, REP_AREA, ISO3, DESIG_TYPE.

A value a rule cannot read is refused (file, feature, field, value and the fix); a field
written in a legitimate but unusual way gives the class worked out by hand.
"""

from __future__ import annotations

from . import Case, classify_args, tiny_inputs
from .emptiness import CLEAN, box, classes, points_only, with_values, world


def regio_only(gdf):
    """A Global 200 layer (no ECO_ID): region named over S2, empty over S3."""
    return gdf[["G200_REGIO", "geometry"]]


def regio_without_num(gdf):
    """A TEOW copy (ECO_ID) that lost G200_NUM and G200_BIOME."""
    return gdf.drop(columns=["G200_NUM", "G200_BIOME"])


def g200_num(*values):
    """G200_NUM written as text, one value per ecoregion."""

    def change(gdf):
        out = gdf.copy()
        out["G200_NUM"] = list(values)
        return out

    return change


def biosphere_reserves(gdf):
    """Two more Designated "Biosphere Reserve"s: an International one (UNESCO-MAB, left out)
    over S3 and a National one (a protected area, kept) over S2."""
    import pandas as pd

    extra = pd.concat([gdf, gdf], ignore_index=True)
    extra["WDPAID"] = [900002, 900003]
    extra["WDPA_PID"] = ["900002", "900003"]
    extra["DESIG_ENG"] = "Biosphere Reserve"
    extra["DESIG_TYPE"] = ["International", "National"]
    extra = extra.set_geometry(
        [box(-72, -12.5, -71, -11.5), box(-69.2, -12.5, -68.8, -11.5)], crs=gdf.crs
    )
    return pd.concat([gdf, extra], ignore_index=True)


def ecoregions_as_protected_areas(folder):
    """The TEOW layer given to -p too: every site would be in a "protected area"."""
    paths = tiny_inputs(folder)
    paths["protected_areas"] = paths["ecoregions"]
    return classify_args(paths, folder / "out.gpkg")


def as_landscapes(role):
    """The ``role`` file given to -l too: every site in it would be "in a priority landscape"."""

    def build(folder):
        paths = tiny_inputs(folder)
        args = classify_args(paths, folder / "out.gpkg")
        return [*args, "--priority-landscapes", str(paths[role])]

    return build


def unnamed(gdf):
    """A WDPA copy whose NAME fields were left empty."""
    return with_values(NAME="", ORIG_NAME="")(gdf)


def check_unnamed(folder, text):
    import geopandas as gpd
    from pyproj import Geod

    reasons = list(gpd.read_file(folder / "out.gpkg", layer="sites")["reason"])
    assert reasons[0] == "Inside an unnamed protected area (WDPA 900001, IUCN II), designated 1990"
    # S2 (-69, -12): nearest point of the park is on its east edge, lon -69.5
    km = Geod(ellps="WGS84").inv(-69.0, -12.0, -69.5, -12.0)[2] / 1000
    near = f"(nearest: an unnamed protected area, WDPA 900001, {km:.1f} km)"  # named by its id
    assert near in reasons[1], reasons[1]


CASES = [
    Case(
        "attributes/protected_area_without_a_name",
        lambda f: world(f, pa=unnamed),
        exit_code=0,
        check=check_unnamed,
    ),
    Case(
        "attributes/protected_areas_given_as_landscapes",
        as_landscapes("protected_areas"),
        words=("pas.gpkg", "WDPA's fields", "--protected-areas", "--priority-landscapes"),
    ),
    Case(
        "attributes/ecoregions_given_as_protected_areas",
        ecoregions_as_protected_areas,
        words=("eco.gpkg", "ecoregions", "G200_NUM", "--ecoregions", "--protected-areas"),
    ),
    Case(
        "attributes/g200_regio_only_layer",
        lambda f: world(f, eco=regio_only),
        exit_code=0,
        check=classes(*CLEAN),  # S3's ecoregion has an empty region: not Global 200
    ),
    Case(
        "attributes/g200_regio_only_in_teow",
        lambda f: world(f, eco=regio_without_num),
        words=("eco.gpkg", "G200_NUM", "not trusted", "ECO_ID, ECO_NAME"),
    ),
    Case(
        "attributes/g200_num_na",
        lambda f: world(f, eco=g200_num("30", "n/a")),
        words=("eco.gpkg", "G200_NUM", "ECO_ID 2", "'n/a'"),
    ),
    Case(
        "attributes/g200_num_negative",
        lambda f: world(f, eco=g200_num(30, -1)),
        words=("eco.gpkg", "G200_NUM", "ECO_ID 2", "'-1'", "-9999"),
    ),
    Case(
        "attributes/status_outside_wdpa_vocabulary",
        lambda f: world(f, pa=with_values(STATUS="Designado")),
        words=("pas.gpkg", "STATUS", "'Designado'", "--all-statuses"),
    ),
    Case(
        "attributes/rep_area_text",
        lambda f: world(f, pa=points_only("n/a")),
        words=("pas.gpkg", "REP_AREA", "900001 'n/a'", "--pa-points drop"),
    ),
    Case(
        "attributes/rep_area_larger_than_any_park",
        lambda f: world(f, pa=points_only(5.0e7)),
        words=("pas.gpkg", "REP_AREA", "50000000", "--pa-points drop"),
    ),
    Case(
        "attributes/iso3_comma_separated",
        lambda f: world(f, "--countries", "PER", pa=with_values(ISO3="BRA, PER")),
        exit_code=0,
        check=classes(*CLEAN),
    ),
    Case(
        "attributes/biosphere_reserves_told_by_designation_type",
        lambda f: world(f, pa=biosphere_reserves),
        exit_code=0,
        check=classes("protected_area", "protected_area", "not_eligible"),
    ),
]
