// Reads a vendor-list.json with @iabtcf/core's GVL and prints, per vendor it keeps (deleted ones aside), the id
// lists mouchard's parser must agree on. Run by tests/test_vendors_gvl.py: node gvl_vendors.mjs FILE
import { readFileSync } from 'node:fs';
import { GVL } from '@iabtcf/core';

const gvl = new GVL(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const out = { version: gvl.vendorListVersion, all: Object.keys(gvl.fullVendorList).map(Number), vendors: {} };
for (const [id, v] of Object.entries(gvl.vendors)) {
  out.vendors[id] = {
    id: v.id, purposes: v.purposes, legIntPurposes: v.legIntPurposes, flexiblePurposes: v.flexiblePurposes,
    specialPurposes: v.specialPurposes, features: v.features, specialFeatures: v.specialFeatures,
  };
}
process.stdout.write(JSON.stringify(out));
