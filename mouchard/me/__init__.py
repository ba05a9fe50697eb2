"""`mouchard me`: a person's own captures, what each company received about them, and the letters to ask for the
rest (GDPR Art. 15, 21, 17; CCPA right to know and delete), with their deadlines. Nothing here is published: the
database is private (mouchard.storage.private) and everything is written on the person's machine.

| module | job |
|---|---|
| model | the dataclasses every module shares: Person, Received, Company, Contact, Letter |
| person | read the person's file (`me.yml`: who they are, and their own values as a device profile) |
| received | what each organisation received: from cookies, leaks, bids, id syncs, flows of the private database |
| organisations | which organisation a row names (tracker lists, GVL, broker registries, domain); companies found |
| contacts | company contact databases (datenanfragen.de's, CC0) fetched at run time, and contact resolution |
| letters | access, objection, erasure, CCPA, reminder and complaint letters in French and English (text, HTML) |
| phrases | an observed item as a letter quotes it, the body's list and the annex; a letter's blocks (text, HTML) |
| words | the words letters and page share (fr, en): TCF purposes, consent states, letter kinds, dates in words |
| pdf, mail | a letter as PDF; a letter as the e-mail to send (.eml) |
| deadlines | Art. 12(3) and CCPA deadlines, reminders, complaint dates: pure date logic |
| followup | requests sent, answers received, a company's export imported and set next to what was observed |
| exports | a company's export (CSV, JSON, JSON Lines, ZIP) read within bounds as (path, value) pairs |
| page | the local page for the person: "these companies received data about you; here are your letters" |
| pagedata | what the page shows, read once from the private database and bounded |

May import: ground, shared, decode, identify, storage, vendors, classification (tests/test_core_layers.py).
"""
