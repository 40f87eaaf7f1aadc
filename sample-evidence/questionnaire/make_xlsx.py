"""Writes questionnaire.xlsx from questionnaire.csv in the shape customers send: a title block
above the table, the questions on the first sheet, an instructions sheet after it, and a
styled header. Needs openpyxl (pip install openpyxl); not needed to build or test dossier."""
import csv
import datetime
import pathlib

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

here = pathlib.Path(__file__).parent
rows = list(csv.reader(open(here / "questionnaire.csv", newline="", encoding="utf-8")))

wb = Workbook()
ws = wb.active
ws.title = "AI governance"
ws["A1"] = "Supplier AI governance questionnaire"
ws["A1"].font = Font(bold=True, size=14)
ws["A2"] = "Issued"
ws["B2"] = datetime.datetime(2026, 10, 5)
ws["C2"] = "Version"
ws["D2"] = 3
for r, row in enumerate(rows, start=4):
    for c, value in enumerate(row, start=1):
        if value:
            ws.cell(row=r, column=c, value=value)
for cell in ws[4]:
    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", fgColor="DDDDDD")

info = wb.create_sheet("Instructions")
info["A1"] = "Answer every question in the answer column; cite evidence by bundle path."
info["A2"] = "Deadline (days)"
info["B2"] = 30
info["A3"] = "Confidential"
info["B3"] = True
wb.save(here / "questionnaire.xlsx")
