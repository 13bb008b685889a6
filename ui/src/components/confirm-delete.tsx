/**
 * A row's Delete button that asks first: once pressed it becomes the
 * question (pressing it deletes) and a Keep button (which takes it back).
 */
export function ConfirmDelete(props: { isAsking: boolean; question: string; onAsk: () => void; onConfirm: () => void; onKeep: () => void }) {
  if (!props.isAsking) {
    return (
      <button className="danger" onClick={props.onAsk}>
        Delete
      </button>
    );
  }
  return (
    <>
      <button className="danger" onClick={props.onConfirm}>
        {props.question}
      </button>
      <button onClick={props.onKeep}>Keep</button>
    </>
  );
}
