// Encodes TC strings with the IAB's own library (@iabtcf/core) and decodes them, and the specification's
// example strings, back with it, so mouchard's Python decoder can be checked against an independent one.
// Prints JSON on stdout; see README.md in this folder. Never downloads the real GVL: a tiny one is below.
'use strict';

const fs = require('fs');
const path = require('path');
const {TCModel, TCString, GVL, PurposeRestriction, RestrictionType, Segment} = require('@iabtcf/core');

// lib/cjs/index.js -> the package's own package.json, for the version that made the vectors
const packageVersion = (name) => JSON.parse(fs.readFileSync(
  path.join(path.dirname(require.resolve(name)), '..', '..', 'package.json'), 'utf8')).version;

const range = (a, b) => Array.from({length: b - a + 1}, (_, i) => a + i);
const named = (ids) => Object.fromEntries(ids.map((id) => [id, {id, name: `item ${id}`, description: '', illustrations: []}]));

function vendor(id, purposes, legIntPurposes, flexiblePurposes = [], specialFeatures = []) {
  return {id, name: `Test vendor ${id}`, purposes, legIntPurposes, flexiblePurposes, specialPurposes: [1],
    features: [], specialFeatures, policyUrl: `https://vendor${id}.example/privacy`, cookieMaxAgeSeconds: 86400,
    usesCookies: true, cookieRefresh: false, usesNonCookieAccess: false};
}

// A made-up vendor list (version 42): ids chosen so that some sets encode as bitfields, others as ranges.
const TINY_GVL = {
  gvlSpecificationVersion: 3, vendorListVersion: 42, tcfPolicyVersion: 4, lastUpdated: '2024-01-01T00:00:00Z',
  purposes: named(range(1, 11)), specialPurposes: named([1, 2, 3]), features: named([1, 2, 3]),
  specialFeatures: named([1, 2]), stacks: {}, dataCategories: {},
  vendors: Object.fromEntries([
    vendor(1, [1, 2, 3, 4], [7, 8]),
    vendor(2, [1, 2], [7, 9, 10]),
    vendor(7, [1, 3, 4], [2]),
    vendor(8, [1, 2], [7]),
    vendor(9, [1, 2, 3], []),
    vendor(20, [1, 7], [2, 8]),
    vendor(32, [1, 2, 3, 4, 7, 9], [10], [], [1]),
    vendor(52, [1, 2], [7, 8], [7]),
    vendor(91, [1, 3, 4], [2], [3]),
    vendor(300, [1], [2, 7]),
    vendor(755, [1, 3, 4], [2, 7, 9, 10]),
    vendor(1000, [1, 2], [7], [], [2]),
  ].map((v) => [v.id, v])),
};

const CREATED = new Date('2024-03-01T12:00:00.000Z');
const UPDATED = new Date('2024-03-02T08:30:00.000Z');

function model(fields) {
  const tc = new TCModel(new GVL(JSON.parse(JSON.stringify(TINY_GVL))));
  tc.cmpId = fields.cmpId ?? 7;
  tc.cmpVersion = fields.cmpVersion ?? 3;
  tc.consentScreen = fields.consentScreen ?? 2;
  tc.consentLanguage = fields.consentLanguage ?? 'FR';
  tc.publisherCountryCode = fields.publisherCountryCode ?? 'FR';
  tc.isServiceSpecific = fields.isServiceSpecific ?? false;
  if (fields.setAll) tc.setAll();
  tc.purposeConsents.set(fields.purposes ?? []);
  tc.purposeLegitimateInterests.set(fields.purposesLI ?? []);
  tc.specialFeatureOptins.set(fields.specialFeatures ?? []);
  tc.vendorConsents.set(fields.vendors ?? []);
  tc.vendorLegitimateInterests.set(fields.vendorsLI ?? []);
  for (const [vendorId, purposeId, type] of fields.restrictions ?? []) {
    tc.publisherRestrictions.add(vendorId, new PurposeRestriction(purposeId, type));
  }
  if (fields.vendorsDisclosed === 'all') tc.setAllVendorsDisclosed();
  else tc.vendorsDisclosed.set(fields.vendorsDisclosed ?? []);
  tc.vendorsAllowed.set(fields.vendorsAllowed ?? []);
  tc.publisherConsents.set(fields.publisherPurposes ?? []);
  tc.publisherLegitimateInterests.set(fields.publisherPurposesLI ?? []);
  tc.numCustomPurposes = fields.numCustomPurposes ?? 0;
  tc.publisherCustomConsents.set(fields.customPurposes ?? []);
  tc.publisherCustomLegitimateInterests.set(fields.customPurposesLI ?? []);
  tc.purposeOneTreatment = fields.purposeOneTreatment ?? false;
  tc.useNonStandardStacks = fields.useNonStandardTexts ?? false;  // the TCF 2.2 name is UseNonStandardTexts
  tc.created = CREATED;
  tc.lastUpdated = UPDATED;
  return tc;
}

const ids = (vector) => {
  const out = [];
  vector.forEach((value, id) => { if (value) out.push(id); });
  return out;
};

// The fields of a decoded TCModel under mouchard's names.
function expected(decoded, segments) {
  const out = {
    version: decoded.version,
    created: decoded.created.toISOString(),
    last_updated: decoded.lastUpdated.toISOString(),
    cmp_id: decoded.cmpId,
    cmp_version: decoded.cmpVersion,
    consent_screen: decoded.consentScreen,
    consent_language: decoded.consentLanguage,
    vendor_list_version: decoded.vendorListVersion,
    purposes_consent: ids(decoded.purposeConsents),
    vendor_consents: ids(decoded.vendorConsents),
  };
  if (decoded.version === 1) return out;
  Object.assign(out, {
    tcf_policy_version: decoded.policyVersion,
    is_service_specific: decoded.isServiceSpecific,
    use_non_standard_texts: decoded.useNonStandardStacks,
    special_feature_opt_ins: ids(decoded.specialFeatureOptins),
    purposes_li_transparency: ids(decoded.purposeLegitimateInterests),
    purpose_one_treatment: decoded.purposeOneTreatment,
    publisher_cc: decoded.publisherCountryCode,
    vendor_legitimate_interests: ids(decoded.vendorLegitimateInterests),
    publisher_restrictions: decoded.publisherRestrictions.getRestrictions()
      .map((r) => ({purpose: r.purposeId, restriction_type: r.restrictionType,
        vendors: decoded.publisherRestrictions.getVendors(r)}))
      .sort((a, b) => a.purpose - b.purpose || a.restriction_type - b.restriction_type),
    disclosed_vendors: segments.includes('vendorsDisclosed') ? ids(decoded.vendorsDisclosed) : null,
    allowed_vendors: segments.includes('vendorsAllowed') ? ids(decoded.vendorsAllowed) : null,
    publisher_tc: segments.includes('publisherTC') ? {
      purposes_consent: ids(decoded.publisherConsents),
      purposes_li_transparency: ids(decoded.publisherLegitimateInterests),
      num_custom_purposes: decoded.numCustomPurposes,
      custom_purposes_consent: ids(decoded.publisherCustomConsents),
      custom_purposes_li_transparency: ids(decoded.publisherCustomLegitimateInterests),
    } : null,
  });
  return out;
}

const CASES = [
  {name: 'global consent, vendors as a bitfield, disclosed vendors', segments: [Segment.CORE, Segment.VENDORS_DISCLOSED],
    fields: {purposes: [1, 2, 3, 4, 7, 9, 10], purposesLI: [2, 7, 8, 9, 10], specialFeatures: [1],
      vendors: [1, 2, 7, 8, 9, 20, 32], vendorsLI: [2, 8, 20], vendorsDisclosed: 'all'}},
  {name: 'service-specific, sparse vendors as ranges, publisher TC with custom purposes',
    segments: [Segment.CORE, Segment.PUBLISHER_TC],
    fields: {isServiceSpecific: true, cmpId: 300, cmpVersion: 17, consentScreen: 5, consentLanguage: 'DE',
      publisherCountryCode: 'AT', purposes: [1, 3, 4], purposesLI: [2, 7], vendors: [1, 755, 1000],
      vendorsLI: [300, 1000], publisherPurposes: [1, 3], publisherPurposesLI: [2], numCustomPurposes: 2,
      customPurposes: [1], customPurposesLI: [2]}},
  {name: 'publisher restrictions (not allowed, require consent, require LI)', segments: [Segment.CORE],
    fields: {isServiceSpecific: true, purposes: [1, 2, 3, 7], purposesLI: [2, 7], vendors: [8, 9, 52, 91],
      vendorsLI: [52, 91], restrictions: [[8, 2, RestrictionType.NOT_ALLOWED], [9, 2, RestrictionType.NOT_ALLOWED],
        [1000, 2, RestrictionType.NOT_ALLOWED], [52, 7, RestrictionType.REQUIRE_CONSENT],
        [91, 3, RestrictionType.REQUIRE_LI]]}},
  {name: 'reject all', segments: [Segment.CORE, Segment.VENDORS_DISCLOSED],
    fields: {vendorsDisclosed: 'all'}},
  {name: 'accept all (setAll on the GVL)', segments: [Segment.CORE, Segment.VENDORS_DISCLOSED],
    fields: {setAll: true, vendorsDisclosed: 'all'}},
  {name: 'allowed vendors segment (OOB)', segments: [Segment.CORE, Segment.VENDORS_DISCLOSED, Segment.VENDORS_ALLOWED],
    fields: {purposes: [1], vendors: [32], vendorsDisclosed: [1, 2, 7, 32], vendorsAllowed: [32, 52]}},
  {name: 'disclosed vendors, a subset', segments: [Segment.CORE, Segment.VENDORS_DISCLOSED],
    fields: {purposes: [1, 2], vendors: [1, 2, 7], vendorsDisclosed: [1, 2, 7, 8, 9]}},
  {name: 'purpose one treatment and non-standard texts', segments: [Segment.CORE],
    fields: {isServiceSpecific: true, purposeOneTreatment: true, useNonStandardTexts: true, publisherCountryCode: 'DE',
      purposes: [2], vendors: [2]}},
];

// Strings from the specifications and from @iabtcf/core's own issue tests, decoded by @iabtcf/core.
const PUBLISHED = [
  {name: 'GPP specification example 1 (tcfeuv2 section)', source: 'Global-Privacy-Platform Core/Consent String Specification.md',
    string: 'CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA'},
  {name: 'iabtcf-es issue 201: a vendor restricted several times', source: 'iabtcf-es modules/core/test/ReportedIssues.test.ts',
    string: 'CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34JqQKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_Pvv9ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7JTPen39___d-___--__ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKABHAD0AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4AegBGAC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA'},
  {name: 'iabtcf-es issue 156: a TCF v1 string', source: 'iabtcf-es modules/core/test/ReportedIssues.test.ts',
    string: 'BOhwdphOxFC7tAHABBFRC--AAAAuhr_7__7-_9_-_f__9uj3Or_v_f__32ccL59v_h_7v-_7fi_20nV4u_1vft9yfk1-5ctDztp507iakivXmqdeb9v_nz3_5pxP78k89r7337Ew_v8_v-b7BCON_YxEiA'},
  {name: 'iabtcf-es issue 191: a TCF v1 string with a vendor range', source: 'iabtcf-es modules/core/test/ReportedIssues.test.ts',
    string: 'BO2e4qiO2e4qiB9ABADEDS-AAAAxKABgACBiQA'},
];

const vectors = [];
for (const c of CASES) {
  const string = TCString.encode(model(c.fields), {segments: c.segments});
  vectors.push({name: c.name, made_by: 'encode', string, segments: c.segments,
    expected: expected(TCString.decode(string), c.segments)});
}
for (const p of PUBLISHED) {
  const segments = [];
  vectors.push({name: p.name, made_by: 'decode', source: p.source, string: p.string,
    expected: expected(TCString.decode(p.string), segments)});
}

process.stdout.write(JSON.stringify({
  generator: 'tests/data/consent/make_strings/make_tcf_vectors.js',
  library: `@iabtcf/core ${packageVersion('@iabtcf/core')}`,
  gvl: {vendorListVersion: TINY_GVL.vendorListVersion, tcfPolicyVersion: TINY_GVL.tcfPolicyVersion},
  vectors,
}, null, 2) + '\n');
