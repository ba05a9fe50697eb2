// Encodes GPP strings with the IAB's own library (@iabgpp/cmpapi) and decodes them, and strings from the
// specification and the library's tests, back with it, so mouchard's Python decoder can be checked against
// an independent one. Prints JSON on stdout; see README.md in this folder.
'use strict';

const fs = require('fs');
const path = require('path');
const {GppModel} = require('@iabgpp/cmpapi');

const packageVersion = (name) => JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve(name)), '..', '..', 'package.json'), 'utf8')).version;

const CASES = [
  {name: 'usnat, every field set, GPC sub-section', fields: {usnat: {
    SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 2, TargetedAdvertisingOptOutNotice: 1,
    SensitiveDataProcessingOptOutNotice: 1, SensitiveDataLimitUseNotice: 2, SaleOptOut: 1, SharingOptOut: 2,
    TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: [2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0, 2],
    KnownChildSensitiveDataConsents: [2, 1, 0], PersonalDataConsents: 1, MspaCoveredTransaction: 1,
    MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2, Gpc: true}}},
  {name: 'usnat without the GPC sub-section', fields: {usnat: {
    SaleOptOutNotice: 1, SaleOptOut: 2, MspaCoveredTransaction: 2, GpcSegmentIncluded: false}}},
  {name: 'usca', fields: {usca: {
    SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1, SaleOptOut: 1, SharingOptOut: 1,
    SensitiveDataProcessing: [1, 2, 0, 1, 2, 0, 1, 2, 0], KnownChildSensitiveDataConsents: [1, 2],
    PersonalDataConsents: 2, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 2, MspaServiceProviderMode: 1,
    Gpc: true}}},
  {name: 'usva', fields: {usva: {
    SharingNotice: 1, SaleOptOutNotice: 2, TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 2,
    TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: [0, 1, 2, 0, 1, 2, 0, 1],
    KnownChildSensitiveDataConsents: 2, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1,
    MspaServiceProviderMode: 2}}},
  {name: 'usco with GPC', fields: {usco: {
    SharingNotice: 2, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 1,
    TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: [1, 1, 2, 2, 0, 0, 1],
    KnownChildSensitiveDataConsents: 1, MspaCoveredTransaction: 2, Gpc: true}}},
  {name: 'usut', fields: {usut: {
    SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 2, SensitiveDataProcessingOptOutNotice: 1,
    SaleOptOut: 2, TargetedAdvertisingOptOut: 2, SensitiveDataProcessing: [2, 2, 1, 1, 0, 0, 2, 1],
    KnownChildSensitiveDataConsents: 1, MspaCoveredTransaction: 1, MspaServiceProviderMode: 1}}},
  {name: 'usct with GPC', fields: {usct: {
    SharingNotice: 1, SaleOptOutNotice: 1, TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 1,
    TargetedAdvertisingOptOut: 1, SensitiveDataProcessing: [1, 2, 1, 2, 1, 2, 1, 2],
    KnownChildSensitiveDataConsents: [1, 2, 0], MspaCoveredTransaction: 1, Gpc: false}}},
  {name: 'uspv1', fields: {uspv1: {Notice: 'Y', OptOutSale: 'Y', LspaCovered: 'N'}}},
  {name: 'tcfeuv2, uspv1 and usca together', fields: {
    tcfeuv2: {CmpId: 31, PurposeConsents: [true, false, true], VendorConsents: [32, 52]},
    uspv1: {Notice: 'Y', OptOutSale: 'N', LspaCovered: 'N'}, usca: {SaleOptOut: 1}}},
  {name: 'usnat, usca, usva, usco: consecutive section ids', fields: {
    usnat: {SaleOptOut: 1}, usca: {SaleOptOut: 2}, usva: {SaleOptOut: 1}, usco: {SaleOptOut: 2}}},
];

// Strings from the GPP specification and @iabgpp/cmpapi's tests, decoded by the library.
const PUBLISHED = [
  {name: 'GPP specification example 1', source: 'Global-Privacy-Platform Core/Consent String Specification.md',
    string: 'DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA'},
  {name: 'GPP specification example 2', source: 'Global-Privacy-Platform Core/Consent String Specification.md',
    string: 'DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN'},
  {name: 'iabgpp-es usnat test string', source: 'iabgpp-es modules/cmpapi/test/encoder/section/UsNat.test.ts',
    string: 'DBABLA~BVVVkkkkkpFY.YA'},
];

// The state sections published from 2024: every field set to a value that differs from its neighbours.
const STATES_2024 = ['usfl', 'usmt', 'usor', 'ustx', 'usde', 'usia', 'usne', 'usnh', 'usnj', 'ustn', 'usmn'];
for (const [i, name] of STATES_2024.entries()) {
  const blank = new GppModel();
  blank.setFieldValue(name, 'Version', 1);  // creates the section with its default values
  const fields = blank.getSection(name);
  const values = {};
  for (const [k, [field, value]] of Object.entries(fields).entries()) {
    if (field === 'Version' || field.endsWith('SegmentType')) continue;
    if (Array.isArray(value)) values[field] = value.map((_, j) => (i + j) % 3);
    else if (field === 'Gpc') values[field] = i % 2 === 0;
    else if (field === 'MspaCoveredTransaction') values[field] = 1 + (i % 2);
    else values[field] = (i + k) % 3;
  }
  CASES.push({name, fields: {[name]: values}});
}

const sections = (string) => new GppModel(string).toObject();

const vectors = [];
for (const c of CASES) {
  const model = new GppModel();
  for (const [section, fields] of Object.entries(c.fields)) {
    for (const [field, value] of Object.entries(fields)) model.setFieldValue(section, field, value);
  }
  const string = model.encode();
  vectors.push({name: c.name, made_by: 'encode', string, expected: sections(string)});
}
for (const p of PUBLISHED) {
  vectors.push({name: p.name, made_by: 'decode', source: p.source, string: p.string, expected: sections(p.string)});
}

process.stdout.write(JSON.stringify({
  generator: 'tests/data/consent/make_strings/make_gpp_vectors.js',
  library: `@iabgpp/cmpapi ${packageVersion('@iabgpp/cmpapi')}`,
  vectors,
}, null, 2) + '\n');
