//! The next queue offset of every (topic, queueId) (RocketMQ's topicQueueTable): the counter
//! the CommitLog's writer stamps into each record it appends. It has no file of its own: at
//! open it is seeded from the ConsumeQueues' max offsets, which recovery rebuilds from the
//! CommitLog. Only the holder of the CommitLog's write lock touches it.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct QueueOffsetTable {
    next: HashMap<String, HashMap<i32, i64>>,
}

impl QueueOffsetTable {
    /// The offset the next record of `topic`/`queue_id` gets (0 for a queue never written).
    pub fn next(&self, topic: &str, queue_id: i32) -> i64 {
        self.next.get(topic).and_then(|queues| queues.get(&queue_id)).copied().unwrap_or(0)
    }

    /// The next queue offset of `topic`/`queue_id`, counted as used: one lookup where a read
    /// then a `set` would be two (a single append's whole bookkeeping).
    pub fn take(&mut self, topic: &str, queue_id: i32) -> i64 {
        // Looked up by &str first: allocating the topic String on every append is measurable.
        if let Some(queues) = self.next.get_mut(topic) {
            let next = queues.entry(queue_id).or_insert(0);
            *next += 1;
            return *next - 1;
        }
        self.next.entry(topic.to_owned()).or_default().insert(queue_id, 1);
        0
    }

    /// Undo `take` (its record was not kept).
    pub fn give_back(&mut self, topic: &str, queue_id: i32, taken: i64) {
        if let Some(next) = self.next.get_mut(topic).and_then(|queues| queues.get_mut(&queue_id)) {
            debug_assert_eq!(*next, taken + 1, "nothing else takes queue offsets under the write lock");
            *next = taken;
        }
    }

    pub fn set(&mut self, topic: &str, queue_id: i32, next: i64) {
        match self.next.get_mut(topic) {
            Some(queues) => {
                queues.insert(queue_id, next);
            }
            None => {
                self.next.entry(topic.to_owned()).or_default().insert(queue_id, next);
            }
        }
    }

    /// Forget a topic (it was deleted; a topic created again under its name starts at 0).
    pub fn remove_topic(&mut self, topic: &str) {
        self.next.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_counts_per_queue_and_giving_back_undoes_the_last_take() {
        let mut table = QueueOffsetTable::default();
        table.set("Seeded", 3, 41);
        assert_eq!([table.take("Seeded", 3), table.take("Seeded", 3), table.take("Seeded", 0)], [41, 42, 0]);
        assert_eq!([table.take("New", 1), table.take("New", 1)], [0, 1]);
        table.give_back("New", 1, 1);
        assert_eq!([table.next("New", 1), table.next("Seeded", 3), table.next("Never", 0)], [1, 43, 0]);
        table.remove_topic("Seeded");
        assert_eq!(table.take("Seeded", 3), 0);
    }
}
