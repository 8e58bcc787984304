//! The envelope of a list method's answer where the dialect documents only the item type
//! ([`Rules::page_item`](super::Rules::page_item)): the server answers with the items list and
//! `pagination { nextToken }`, which this spells out as fields. The envelope is the wire's, the same for every
//! dialect; only whether it is documented differs.

use super::{rules, Dialect};
use crate::parse::fields::{FieldNode, Kind};
use crate::parse::json_ref::JsonRef;
use crate::parse::names::wire;
use crate::parse::types::{Spelled, TypeExpr};
use serde_json::Value;
use std::rc::Rc;

/// A list method's answer around the documented item type.
pub struct PageEnvelope {
    /// The docs' name of the item type.
    pub item: String,
    /// The key of the items list.
    key: String,
    json: JsonRef,
}

impl PageEnvelope {
    /// The envelope of a method that returns `returns` in `dialect`, answered like the example `json`: when the
    /// dialect spells the result as a page of items and the example shows the items key (its one array-valued
    /// key other than `pagination`).
    pub fn of(dialect: Dialect, returns: Option<&str>, json: Option<&JsonRef>) -> Option<Self> {
        let item = rules(dialect).page_item(returns?)?;
        let json = json?;
        let Value::Object(m) = json.get() else { return None };
        let keys: Vec<&String> = m.iter().filter(|(k, v)| *k != "pagination" && v.is_array()).map(|(k, _)| k).collect();
        let key = (keys.len() == 1).then(|| keys[0].clone())?;
        Some(PageEnvelope { item, key, json: json.clone() })
    }

    /// The example of one item (the first of the example's items): what the item's fields are nested against.
    pub fn item_example(&self) -> Option<JsonRef> {
        self.json.key(&self.key).and_then(|a| a.index(0))
    }

    /// The envelope's fields in wire-name order: `pagination { nextToken }` and the list of items, whose fields
    /// are `item_fields`, with their values in the example; `offset` places them in the docs.
    pub fn fields(self, item_fields: Vec<FieldNode>, offset: usize) -> Vec<FieldNode> {
        let item_json = self.item_example();
        let items_json = self.json.key(&self.key);
        let list_of_item = Spelled { ty: TypeExpr::List(Box::new(TypeExpr::Named(self.item.clone()))), optional: true };
        let kind = Kind::Message { type_name: Some(self.item), children: Rc::new(item_fields), json: item_json };
        let mut items = FieldNode::new(self.key.into(), list_of_item, Rc::from(""), offset, kind);
        items.example = items_json;
        let string = Spelled { ty: TypeExpr::String, optional: true };
        let mut next = FieldNode::new("nextToken".into(), string, Rc::from(""), offset, Kind::Scalar);
        let pagination_json = self.json.key("pagination");
        next.example = pagination_json.as_ref().and_then(|p| p.key("nextToken"));
        let kind = Kind::Message {
            type_name: Some("Pagination".into()),
            children: Rc::new(vec![next]),
            json: pagination_json.clone(),
        };
        let named = Spelled { ty: TypeExpr::Named("Pagination".into()), optional: true };
        let mut pagination = FieldNode::new("pagination".into(), named, Rc::from(""), offset, kind);
        pagination.example = pagination_json;
        let mut fields = vec![pagination, items];
        fields.sort_by_key(|f| wire(&f.name));
        fields
    }
}
