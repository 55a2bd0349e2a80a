#!/usr/bin/env python3
"""Every control in the app's templates has an accessible name.

Reads each desktop/*.ui (the templates every screen is built from) and, for
each control a user can operate (buttons, entries, switches, text views,
rows that activate), requires a name a screen reader can say: a visible
label or title of its own (label, title, placeholder-text for search), an
explicit <accessibility><property name="label">, or a labelled-by relation.
An icon-only button with just a tooltip is not enough: GTK 4.8 does not turn
a tooltip into an accessible name.  One TAP case per .ui file; a failure
names the control (its id or widget name and line).  Controls made in C are
covered by the GUI tests' screens, not here.

  test-accessible-names.py DESKTOP_DIR
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET

CONTROLS = {
    "GtkButton", "GtkToggleButton", "GtkMenuButton", "GtkLinkButton", "GtkSwitch",
    "GtkCheckButton", "GtkEntry", "GtkPasswordEntry", "GtkSearchEntry", "GtkSpinButton",
    "GtkTextView", "GtkDropDown", "GtkScale", "AdwSplitButton",
    "AdwEntryRow", "AdwPasswordEntryRow", "AdwComboRow", "AdwActionRow", "AdwExpanderRow",
}
# Properties that give a control a name of its own.
NAMING = {"label", "title", "placeholder-text", "text"}


def props(obj):
    return {p.get("name"): (p.text or "").strip() for p in obj.findall("property")}


def has_a11y_name(obj):
    for a11y in obj.findall("accessibility"):
        for p in a11y.findall("property"):
            if p.get("name") == "label" and (p.text or "").strip():
                return True
        for r in a11y.findall("relation"):
            if r.get("name") in ("labelled-by",):
                return True
    return False


def child_label(obj):
    """A button whose child is a GtkLabel (or an AdwButtonContent with a label)."""
    for child in obj.findall("./property[@name='child']/object") + obj.findall("./child/object"):
        cls = child.get("class")
        p = props(child)
        if cls == "GtkLabel" and (p.get("label") or p.get("mnemonic-widget") is not None):
            return True
        if cls == "AdwButtonContent" and p.get("label"):
            return True
    return False


def check(path):
    problems = []
    tree = ET.parse(path)
    for obj in tree.iter("object"):
        cls = obj.get("class")
        if cls not in CONTROLS:
            continue
        p = props(obj)
        named = any(p.get(k) for k in NAMING) or has_a11y_name(obj) or child_label(obj)
        if not named:
            who = obj.get("id") or p.get("name") or "(no id)"
            problems.append(f"{cls} {who}")
    return problems


# The check itself must be able to fail: an icon-only button with only a
# tooltip, beside the same button named.
UNNAMED = """<interface><object class="GtkButton" id="bare">
  <property name="icon-name">edit-delete-symbolic</property>
  <property name="tooltip-text">Delete</property></object></interface>"""
NAMED = """<interface><object class="GtkButton" id="named">
  <property name="icon-name">edit-delete-symbolic</property>
  <accessibility><property name="label">Delete</property></accessibility></object></interface>"""


def self_check():
    import tempfile
    results = []
    for text in (UNNAMED, NAMED):
        with tempfile.NamedTemporaryFile("w", suffix=".ui", delete=False) as f:
            f.write(text)
        results.append(check(f.name))
        os.unlink(f.name)
    return results == [["GtkButton bare"], []]


def main():
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.ui")))
    print(f"1..{len(files) + 1}")
    failed = 0
    if self_check():
        print("ok 1 - an icon-only button with only a tooltip is caught, a named one passes")
    else:
        failed = 1
        print("not ok 1 - the check does not tell a named button from an unnamed one")
    for n, path in enumerate(files, 2):
        problems = check(path)
        name = os.path.basename(path)
        if problems:
            failed = 1
            print(f"not ok {n} - {name}: controls without an accessible name")
            for p in problems:
                print(f"# {p}")
        else:
            print(f"ok {n} - {name}: every control has an accessible name")
    return failed


if __name__ == "__main__":
    sys.exit(main())
