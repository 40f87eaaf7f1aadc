"""A customer's questionnaire workbook, as openpyxl writes one, and what openpyxl sees in one.

  python3 questionnaire.py make OUT.xlsx     a workbook with what real questionnaires have: a
                                             merged title block above a header on row 4, a
                                             Yes/No/N-A dropdown (a defined name over a hidden
                                             sheet), styled and wrapped answer cells, widths,
                                             formulas, a comment, a protected structure, and a
                                             second question sheet with a literal-list dropdown
  python3 questionnaire.py inspect IN.xlsx   JSON of every sheet: values, formulas, styles,
                                             widths, merges, validations, comments, visibility,
                                             protection; and the defined names
"""

import json
import sys

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

QUESTIONS = [
    ("AI-INV-01", "Do you keep an inventory of the AI models you run?"),
    ("AI-DOC-01", "Does every production model have a model card?"),
    ("AI-XX-99", "A question no library entry answers"),
    ("AI-DOC-02", "Is training data provenance recorded?"),
]


def make(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Questions"
    ws["A1"] = "Acme Bank — AI assurance questionnaire"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:G1")
    ws["A2"] = "Answer every question; choose Yes, No or N/A in the Response column."
    ws.merge_cells("A2:G2")
    header = ["ID", "Question", "Response", "Comments", "Evidence", "Weight", "Score"]
    fill = PatternFill("solid", fgColor="FFDDEBF7")
    for col, name in enumerate(header, start=1):
        cell = ws.cell(row=4, column=col, value=name)
        cell.font = Font(bold=True)
        cell.fill = fill
    wrap = Alignment(wrap_text=True, vertical="top")
    answer_fill = PatternFill("solid", fgColor="FFFFF2CC")
    for i, (qid, text) in enumerate(QUESTIONS):
        row = 5 + i
        ws.cell(row=row, column=1, value=qid)
        ws.cell(row=row, column=2, value=text).alignment = wrap
        for col in (3, 4, 5):
            cell = ws.cell(row=row, column=col)
            cell.alignment = wrap
            cell.fill = answer_fill
        ws.cell(row=row, column=6, value=i + 1)
        ws.cell(row=row, column=7, value=f'=IF(C{row}="Yes",F{row},0)')
    ws.cell(row=10, column=6, value="Total")
    ws.cell(row=10, column=7, value="=SUM(G5:G8)")
    ws["B5"].comment = Comment("Counts models in every environment.", "Customer")
    for col, width in zip("ABCDEFG", (12, 48, 12, 60, 36, 8, 8)):
        ws.column_dimensions[col].width = width
    lists = wb.create_sheet("Lists")
    for row, value in enumerate(("Yes", "No", "N/A"), start=1):
        lists.cell(row=row, column=1, value=value)
    lists.sheet_state = "hidden"
    wb.defined_names["Choices"] = DefinedName("Choices", attr_text="Lists!$A$1:$A$3")
    dv = DataValidation(type="list", formula1="=Choices", allow_blank=True)
    dv.add("C5:C8")
    ws.add_data_validation(dv)

    other = wb.create_sheet("Logging")
    for col, name in enumerate(("ID", "Question", "Response"), start=1):
        other.cell(row=1, column=col, value=name).font = Font(bold=True)
    other.cell(row=2, column=1, value="AI-LOG-01")
    other.cell(row=2, column=2, value="Do you log inference requests?")
    dv2 = DataValidation(type="list", formula1='"Yes,No,N/A"', allow_blank=True)
    dv2.add("C2:C9")
    other.add_data_validation(dv2)
    wb.security.lockStructure = True
    wb.save(path)


def style(cell):
    return {
        "font": [cell.font.b, cell.font.sz],
        "fill": cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type else None,
        "wrap": cell.alignment.wrap_text,
        "format": cell.number_format,
    }


def inspect(path):
    wb = openpyxl.load_workbook(path)
    sheets = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                cells[cell.coordinate] = {
                    "value": cell.value if isinstance(cell.value, (str, int, float)) else None,
                    "style": style(cell),
                    "comment": cell.comment.text if cell.comment else None,
                }
        sheets[ws.title] = {
            "state": ws.sheet_state,
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "widths": {k: v.width for k, v in sorted(ws.column_dimensions.items()) if v.customWidth},
            "validations": sorted(
                [dv.type, dv.formula1, str(dv.sqref)] for dv in ws.data_validations.dataValidation
            ),
        }
    names = {name: dn.attr_text for name, dn in wb.defined_names.items()}
    lock = bool(wb.security and wb.security.lockStructure)
    json.dump({"sheets": sheets, "names": names, "lock_structure": lock}, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    {"make": make, "inspect": inspect}[sys.argv[1]](sys.argv[2])
