//! Topics: named groups of connections that a publish reaches, on every event loop.
//!
//! Each event loop keeps its own subscribers ([`LocalTopics`]: topic to connections, and each
//! connection's own list in its record). The server keeps, for every topic, which loops have
//! subscribers ([`TopicRegistry`], behind a mutex taken only when a loop's topic gains its
//! first or loses its last subscriber, and once per publish): a publish goes to those loops
//! only, and watchers ([`Handle::topic_events`](crate::Handle::topic_events)) learn when a
//! topic gains its first or loses its last subscriber in the process.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::ConnId;

/// A change in the set of topics that have subscribers anywhere in the server, for a bridge
/// to a message broker (subscribe to the broker's channel while a topic is active).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicEvent {
    /// The topic has its first subscriber in this server (on any event loop).
    Active(Arc<str>),
    /// The topic's last subscriber in this server unsubscribed or closed.
    Inactive(Arc<str>),
}

/// The subscribers of one event loop, by topic, and the topics of each subscribing
/// connection (kept here rather than in the connection's record, so that connections that
/// subscribe to nothing cost nothing).
#[derive(Debug, Default)]
pub(crate) struct LocalTopics {
    topics: HashMap<Arc<str>, HashSet<ConnId>>,
    by_conn: HashMap<ConnId, Vec<Arc<str>>>,
}

/// What [`LocalTopics::subscribe`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Subscribed {
    /// The connection already subscribed to the topic.
    Already,
    /// Subscribed; the topic had subscribers on this loop before.
    Added,
    /// Subscribed, the topic's first on this loop.
    First(Arc<str>),
    /// Not subscribed: the connection is at its limit.
    Full,
}

impl LocalTopics {
    /// Subscribes `id` to `topic` unless it already has `max` topics.
    pub(crate) fn subscribe(&mut self, id: ConnId, topic: &str, max: usize) -> Subscribed {
        let mine = self.by_conn.entry(id).or_default();
        if mine.iter().any(|t| **t == *topic) {
            return Subscribed::Already;
        }
        if mine.len() >= max {
            if mine.is_empty() {
                self.by_conn.remove(&id);
            }
            return Subscribed::Full;
        }
        let known = self.topics.get_key_value(topic).map(|(k, _)| Arc::clone(k));
        if let Some(name) = known {
            mine.push(name);
            if let Some(members) = self.topics.get_mut(topic) {
                members.insert(id);
            }
            return Subscribed::Added;
        }
        let name: Arc<str> = topic.into();
        mine.push(Arc::clone(&name));
        self.topics.insert(Arc::clone(&name), HashSet::from([id]));
        Subscribed::First(name)
    }

    /// Unsubscribes `id` from `topic`; the topic's name if that was its last subscriber on
    /// this loop.
    pub(crate) fn unsubscribe(&mut self, id: ConnId, topic: &str) -> Option<Arc<str>> {
        let mine = self.by_conn.get_mut(&id)?;
        let at = mine.iter().position(|t| **t == *topic)?;
        let name = mine.swap_remove(at);
        if mine.is_empty() {
            self.by_conn.remove(&id);
        }
        self.leave(&name, id).then_some(name)
    }

    /// Ends every subscription of `id`; returns the topics that lost their last subscriber on
    /// this loop.
    pub(crate) fn unsubscribe_all(&mut self, id: ConnId) -> Vec<Arc<str>> {
        let mine = self.by_conn.remove(&id).unwrap_or_default();
        mine.into_iter()
            .filter(|name| self.leave(name, id))
            .collect()
    }

    /// Removes `id` from the topic's members; `true` if it was the last.
    fn leave(&mut self, topic: &str, id: ConnId) -> bool {
        let Some(members) = self.topics.get_mut(topic) else {
            return false;
        };
        members.remove(&id);
        if members.is_empty() {
            self.topics.remove(topic);
            return true;
        }
        false
    }

    /// The topics `id` subscribes to.
    pub(crate) fn subscriptions(&self, id: ConnId) -> &[Arc<str>] {
        self.by_conn.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The subscribers of a topic on this loop, appended to `out`.
    pub(crate) fn members_into(&self, topic: &str, out: &mut Vec<ConnId>) {
        if let Some(members) = self.topics.get(topic) {
            out.extend(members.iter().copied());
        }
    }

    /// How many connections of this loop subscribe to a topic.
    pub(crate) fn count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, HashSet::len)
    }
}

/// Which event loops have subscribers of each topic, and who watches topics come and go.
#[derive(Debug, Default)]
pub(crate) struct TopicRegistry {
    loops: HashMap<Arc<str>, Vec<u16>>,
    /// Subscriptions asked of a loop from another thread and not handled by it yet, one
    /// entry per request: a publish made after the request goes to that loop too, and finds
    /// the subscriber there (the loop handles its commands in order).
    pending: HashMap<Arc<str>, Vec<u16>>,
    watchers: Vec<Sender<TopicEvent>>,
}

impl TopicRegistry {
    /// A loop's topic gained its first subscriber.
    pub(crate) fn loop_joined(&mut self, topic: &Arc<str>, worker: u16) {
        match self.loops.get_mut(&**topic) {
            Some(loops) => {
                if !loops.contains(&worker) {
                    loops.push(worker);
                }
            }
            None => {
                self.loops.insert(Arc::clone(topic), vec![worker]);
                self.notify(TopicEvent::Active(Arc::clone(topic)));
            }
        }
    }

    /// A loop's topic lost its last subscriber.
    pub(crate) fn loop_left(&mut self, topic: &str, worker: u16) {
        let Some(loops) = self.loops.get_mut(topic) else {
            return;
        };
        loops.retain(|&w| w != worker);
        if loops.is_empty() {
            if let Some((name, _)) = self.loops.remove_entry(topic) {
                self.notify(TopicEvent::Inactive(name));
            }
        }
    }

    /// A loop was asked (by a command) to subscribe a connection to a topic.
    pub(crate) fn expect(&mut self, topic: &Arc<str>, worker: u16) {
        match self.pending.get_mut(&**topic) {
            Some(loops) => loops.push(worker),
            None => {
                self.pending.insert(Arc::clone(topic), vec![worker]);
            }
        }
    }

    /// A loop handled a subscription request of [`expect`](Self::expect) (whether the
    /// subscription took or not).
    pub(crate) fn expected(&mut self, topic: &str, worker: u16) {
        let Some(loops) = self.pending.get_mut(topic) else {
            return;
        };
        if let Some(at) = loops.iter().position(|&w| w == worker) {
            loops.swap_remove(at);
        }
        if loops.is_empty() {
            self.pending.remove(topic);
        }
    }

    /// The loops with subscribers of a topic, or a subscription request not handled yet,
    /// appended to `out` (each once), and the topic's shared name; `None` if there are none.
    pub(crate) fn loops_into(&self, topic: &str, out: &mut Vec<u16>) -> Option<Arc<str>> {
        let active = self.loops.get_key_value(topic);
        let pending = self.pending.get_key_value(topic);
        for &worker in active
            .iter()
            .chain(&pending)
            .flat_map(|(_, loops)| loops.iter())
        {
            if !out.contains(&worker) {
                out.push(worker);
            }
        }
        active.or(pending).map(|(name, _)| Arc::clone(name))
    }

    /// The topics with subscribers.
    pub(crate) fn active(&self) -> Vec<Arc<str>> {
        self.loops.keys().cloned().collect()
    }

    /// A new watcher: it hears of every topic active now, then of every change.
    pub(crate) fn watch(&mut self) -> Receiver<TopicEvent> {
        let (tx, rx) = mpsc::channel();
        for topic in self.loops.keys() {
            // The receiver is right here: this cannot fail.
            let _ = tx.send(TopicEvent::Active(Arc::clone(topic)));
        }
        self.watchers.push(tx);
        rx
    }

    fn notify(&mut self, event: TopicEvent) {
        // A watcher whose receiver is gone is forgotten.
        self.watchers.retain(|tx| tx.send(event.clone()).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(slot: u32) -> ConnId {
        ConnId {
            worker: 0,
            slot,
            generation: 0,
        }
    }

    #[test]
    fn a_loop_reports_its_first_and_last_subscriber_of_a_topic() {
        let mut topics = LocalTopics::default();
        let Subscribed::First(room) = topics.subscribe(id(1), "room", 2) else {
            panic!("the first subscriber")
        };
        assert_eq!(topics.subscribe(id(2), "room", 2), Subscribed::Added);
        assert_eq!(topics.subscribe(id(2), "room", 2), Subscribed::Already);
        assert_eq!(topics.count("room"), 2);
        // The name is stored once, shared by the subscribers.
        assert!(Arc::ptr_eq(&topics.subscriptions(id(2))[0], &room));
        assert!(matches!(
            topics.subscribe(id(2), "b", 2),
            Subscribed::First(_)
        ));
        assert_eq!(topics.subscribe(id(2), "c", 2), Subscribed::Full);
        assert_eq!(topics.count("c"), 0);
        assert_eq!(topics.unsubscribe(id(1), "room"), None);
        assert_eq!(topics.unsubscribe(id(1), "room"), None, "not subscribed");
        assert_eq!(topics.unsubscribe(id(2), "other"), None);
        assert!(topics.subscriptions(id(1)).is_empty());
        let mut gone = topics.unsubscribe_all(id(2));
        gone.sort();
        assert_eq!(gone, [Arc::from("b"), room]);
        assert_eq!(topics.count("room"), 0);
        assert!(topics.by_conn.is_empty() && topics.topics.is_empty());
        assert_eq!(topics.subscribe(id(3), "c", 0), Subscribed::Full);
        assert!(
            topics.by_conn.is_empty(),
            "nothing kept for a refused subscription"
        );
    }

    #[test]
    fn watchers_hear_of_topics_active_before_and_of_each_change() {
        let mut registry = TopicRegistry::default();
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        registry.loop_joined(&a, 0);
        let events = registry.watch();
        registry.loop_joined(&a, 1);
        registry.loop_joined(&b, 1);
        registry.loop_left("a", 0);
        registry.loop_left("a", 1);
        let mut loops = Vec::new();
        assert_eq!(registry.loops_into("b", &mut loops), Some(b.clone()));
        assert_eq!(loops, [1]);
        assert_eq!(registry.loops_into("a", &mut loops), None);
        // A request not handled yet routes publishes without being an active topic.
        let c: Arc<str> = "c".into();
        registry.expect(&c, 2);
        registry.expect(&c, 2);
        loops.clear();
        assert_eq!(registry.loops_into("c", &mut loops), Some(c.clone()));
        assert_eq!(loops, [2]);
        registry.expected("c", 2);
        registry.expected("c", 2);
        assert_eq!(registry.loops_into("c", &mut loops), None);
        assert!(registry.pending.is_empty());
        let got: Vec<TopicEvent> = events.try_iter().collect();
        assert_eq!(
            got,
            [
                TopicEvent::Active(a.clone()),
                TopicEvent::Active(b.clone()),
                TopicEvent::Inactive(a),
            ]
        );
        drop(events);
        registry.loop_left("b", 1);
        assert!(registry.watchers.is_empty());
        assert!(registry.active().is_empty());
    }
}
