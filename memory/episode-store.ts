/** Something an agent lived through: a task attempt, its outcome, and what was learned. */
export interface Episode {
  id: string;
  runId: string;
  taskId: string;
  /** The task's instruction or a summary of it: what similarity is judged on. */
  task: string;
  outcome: 'success' | 'failure';
  /** A reflection: what to do differently next time. */
  lesson?: string;
  /** 0..1: how much this episode should weigh in recall. */
  importance: number;
  createdAt: number;
}

export interface RecallOptions {
  k?: number;
  /** Only episodes with a lesson. */
  lessonsOnly?: boolean;
}

/** Stores episodes and recalls the ones most like a new task. */
export interface EpisodeStore {
  add(episode: Episode): Promise<void>;
  recall(task: string, options?: RecallOptions): Promise<Episode[]>;
  count(): Promise<number>;
}
