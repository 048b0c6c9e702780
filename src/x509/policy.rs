//! Certificate policy validation as Go 1.24's `Verify` runs it on every candidate chain
//! (`policiesValid`: RFC 5280 6.1 with the policy graph of RFC 9618), with Go's defaults:
//! initial policy set anyPolicy, no explicit policy required, mapping and anyPolicy not
//! inhibited. A chain fails only when a CA's policyConstraints / inhibitAnyPolicy /
//! policyMappings leave no valid policy where one is required.
//! Source: <https://github.com/golang/go/blob/master/src/crypto/x509/verify.go>.

use std::collections::{BTreeMap, BTreeSet};

use super::cert::Cert;

const ANY_POLICY: &str = "2.5.29.32.0";

struct Node {
    valid: String,
    expected: Vec<String>,
    parents: BTreeSet<usize>,
    children: BTreeSet<usize>,
}

/// `policyGraph`: nodes in an arena, one map OID → node per depth.
struct Graph {
    nodes: Vec<Node>,
    strata: Vec<BTreeMap<String, usize>>,
    parent_index: BTreeMap<String, Vec<usize>>,
    depth: usize,
}

impl Graph {
    fn new() -> Graph {
        let mut root = BTreeMap::new();
        root.insert(ANY_POLICY.to_string(), 0);
        Graph {
            nodes: vec![Node {
                valid: ANY_POLICY.into(),
                expected: vec![ANY_POLICY.into()],
                parents: BTreeSet::new(),
                children: BTreeSet::new(),
            }],
            strata: vec![root],
            parent_index: BTreeMap::new(),
            depth: 0,
        }
    }

    fn new_node(&mut self, valid: &str, parents: &[usize]) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            valid: valid.to_string(),
            expected: vec![valid.to_string()],
            parents: parents.iter().copied().collect(),
            children: BTreeSet::new(),
        });
        for p in parents {
            self.nodes[*p].children.insert(id);
        }
        id
    }

    fn insert(&mut self, id: usize) {
        let valid = self.nodes[id].valid.clone();
        self.strata[self.depth].insert(valid, id);
    }

    fn parents_with_expected(&self, expected: &str) -> Vec<usize> {
        if self.depth == 0 {
            return Vec::new();
        }
        self.parent_index.get(expected).cloned().unwrap_or_default()
    }

    fn parent_with_any_policy(&self) -> Option<usize> {
        if self.depth == 0 {
            return None;
        }
        self.strata[self.depth - 1].get(ANY_POLICY).copied()
    }

    fn parents(&self) -> Vec<usize> {
        if self.depth == 0 {
            return Vec::new();
        }
        self.strata[self.depth - 1].values().copied().collect()
    }

    fn leaf_with_policy(&self, policy: &str) -> Option<usize> {
        self.strata[self.depth].get(policy).copied()
    }

    fn delete_leaf(&mut self, policy: &str) {
        let Some(id) = self.strata[self.depth].remove(policy) else {
            return;
        };
        let parents: Vec<usize> = self.nodes[id].parents.iter().copied().collect();
        for p in parents {
            self.nodes[p].children.remove(&id);
        }
        let children: Vec<usize> = self.nodes[id].children.iter().copied().collect();
        for c in children {
            self.nodes[c].parents.remove(&id);
        }
    }

    fn prune(&mut self) {
        for i in (1..self.depth).rev() {
            let childless: Vec<(String, usize)> = self.strata[i]
                .iter()
                .filter(|(_, id)| self.nodes[**id].children.is_empty())
                .map(|(k, id)| (k.clone(), *id))
                .collect();
            for (key, id) in childless {
                let parents: Vec<usize> = self.nodes[id].parents.iter().copied().collect();
                for p in parents {
                    self.nodes[p].children.remove(&id);
                }
                self.strata[i].remove(&key);
            }
        }
    }

    fn incr_depth(&mut self) {
        self.parent_index.clear();
        for id in self.strata[self.depth].values() {
            for e in &self.nodes[*id].expected {
                self.parent_index.entry(e.clone()).or_default().push(*id);
            }
        }
        self.depth += 1;
        self.strata.push(BTreeMap::new());
    }

    fn valid_policy_nodes(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for i in (0..=self.depth).rev() {
            for id in self.strata[i].values() {
                let n = &self.nodes[*id];
                if n.valid == ANY_POLICY {
                    continue;
                }
                if n.parents.len() == 1
                    && n.parents.iter().all(|p| self.nodes[*p].valid == ANY_POLICY)
                {
                    out.push(*id);
                }
            }
        }
        out
    }
}

/// A set constraint field (`RequireExplicitPolicy` + `…Zero`): `Some(n)` with n >= 0.
fn set(value: Option<i64>) -> Option<i64> {
    value.filter(|v| *v >= 0)
}

/// `policiesValid`'s three counters: `explicitPolicy`, `policyMapping`, `inhibitAnyPolicy`.
struct Counters {
    explicit: i64,
    mapping: i64,
    inhibit_any: i64,
}

impl Counters {
    /// RFC 5280 6.1.4 (h), (i), (j) for a certificate that is not the leaf.
    fn update(&mut self, cert: &Cert, self_signed: bool) {
        // 6.1.4 (h)
        if !self_signed {
            self.explicit = (self.explicit - 1).max(0);
            self.mapping = (self.mapping - 1).max(0);
            self.inhibit_any = (self.inhibit_any - 1).max(0);
        }
        // 6.1.4 (i)
        if let Some(v) = set(cert.require_explicit_policy) {
            self.explicit = self.explicit.min(v);
        }
        if let Some(v) = set(cert.inhibit_policy_mapping) {
            self.mapping = self.mapping.min(v);
        }
        // 6.1.4 (j)
        if let Some(v) = set(cert.inhibit_any_policy) {
            self.inhibit_any = self.inhibit_any.min(v);
        }
    }
}

/// verify.go `policiesValid` for `chain` (leaf first, trust anchor last).
pub(crate) fn policies_valid(chain: &[&Cert]) -> bool {
    if chain.len() <= 1 {
        return true;
    }
    let n = chain.len() as i64 - 1;
    let mut graph = Some(Graph::new());
    let mut counters = Counters {
        explicit: n + 1,
        mapping: n + 1,
        inhibit_any: n + 1,
    };
    for i in (0..chain.len() - 1).rev() {
        let cert = chain[i];
        let self_signed = cert.raw_issuer == cert.raw_subject;
        // 6.1.3 (e)
        if cert.policies.is_empty() {
            graph = None;
        }
        // 6.1.3 (f)
        if counters.explicit == 0 && graph.is_none() {
            return false;
        }
        if let Some(pg) = graph.as_mut() {
            pg.incr_depth();
            let has_any = add_policies(pg, &cert.policies);
            // Go's "n-i < n": the spec's "i < n" with the chain's order reversed.
            let not_last = (n - i as i64) < n;
            if has_any && (counters.inhibit_any > 0 || (not_last && self_signed)) {
                add_any_policy_children(pg);
            }
            // 6.1.3 (d) (3)
            pg.prune();
            if i != 0
                && !cert.policy_mappings.is_empty()
                && !apply_policy_mappings(pg, &cert.policy_mappings, counters.mapping)
            {
                return false;
            }
        }
        if i != 0 {
            counters.update(cert, self_signed);
        }
    }
    // 6.1.5 (a)
    let mut explicit = (counters.explicit - 1).max(0);
    // 6.1.5 (b)
    if chain[0].require_explicit_policy == Some(0) {
        explicit = 0;
    }
    explicit != 0 || has_valid_policy(graph.as_ref())
}

/// RFC 5280 6.1.3 (d) (1) as RFC 9618 specifies it: a node for each of the certificate's
/// policies under the parents that expect it, else under the previous anyPolicy node.
/// Returns whether the certificate asserts anyPolicy.
fn add_policies(pg: &mut Graph, policies: &[String]) -> bool {
    let mut has_any = false;
    for policy in policies {
        if policy == ANY_POLICY {
            has_any = true;
            continue;
        }
        let mut parents = pg.parents_with_expected(policy);
        if parents.is_empty() {
            if let Some(any) = pg.parent_with_any_policy() {
                parents = vec![any];
            }
        }
        if !parents.is_empty() {
            let id = pg.new_node(policy, &parents);
            pg.insert(id);
        }
    }
    has_any
}

/// RFC 5280 6.1.3 (d) (2) as RFC 9618 specifies it: for anyPolicy, a node for every policy
/// a parent expects that no leaf has yet.
fn add_any_policy_children(pg: &mut Graph) {
    let mut missing: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for p in pg.parents() {
        for expected in pg.nodes[p].expected.clone() {
            if pg.leaf_with_policy(&expected).is_none() {
                missing.entry(expected).or_default().push(p);
            }
        }
    }
    for (oid, parents) in missing {
        let id = pg.new_node(&oid, &parents);
        pg.insert(id);
    }
}

/// RFC 5280 6.1.4 (b) as RFC 9618 specifies it, with `policyMapping` as `mapping`: map
/// the issuer domain policies to their subject domain policies, or, when mapping is
/// inhibited, delete them. False for a mapping from or to anyPolicy (the chain is invalid).
fn apply_policy_mappings(
    pg: &mut Graph,
    policy_mappings: &[(String, String)],
    mapping: i64,
) -> bool {
    let mut mappings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (issuer, subject) in policy_mappings {
        if mapping > 0 {
            if issuer == ANY_POLICY || subject == ANY_POLICY {
                return false;
            }
            mappings
                .entry(issuer.clone())
                .or_default()
                .push(subject.clone());
        } else {
            // 6.1.4 (b) (3) (i), (ii)
            pg.delete_leaf(issuer);
            pg.prune();
        }
    }
    for (issuer, subjects) in mappings {
        if let Some(matching) = pg.leaf_with_policy(&issuer) {
            // 6.1.4 (b) (1)
            pg.nodes[matching].expected = subjects;
        } else if let Some(any) = pg.leaf_with_policy(ANY_POLICY) {
            // 6.1.4 (b) (2)
            let id = pg.new_node(&issuer, &[any]);
            pg.nodes[id].expected = subjects;
            pg.insert(id);
        }
    }
    true
}

/// RFC 5280 6.1.5 (g) as RFC 9618 specifies it: with the initial set {anyPolicy}, the
/// user-constrained set is the authority-constrained one, which must not be empty.
fn has_valid_policy(graph: Option<&Graph>) -> bool {
    match graph {
        Some(pg) => {
            !pg.valid_policy_nodes().is_empty() || pg.leaf_with_policy(ANY_POLICY).is_some()
        }
        None => false,
    }
}
