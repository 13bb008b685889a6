/** The footer of every edit form in a dialog: Cancel closes it, Save submits (and says so while it runs). */
export function FormActions(props: { saving: boolean; onCancel: () => void }) {
  return (
    <div className="actions">
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      <button className="primary" type="submit" disabled={props.saving}>
        {props.saving ? 'Saving…' : 'Save'}
      </button>
    </div>
  );
}
