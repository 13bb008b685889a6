/** Marks a record the fleet file owns (decision 0010); the title says where to change it. */
export function ManagedBadge(props: { title?: string }) {
  return (
    <span className="badge managed" {...(props.title === undefined ? {} : { title: props.title })}>
      managed by fleet file
    </span>
  );
}
