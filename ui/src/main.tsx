import { createRoot } from 'react-dom/client';

function Hello() {
  return <h1>Switchyard</h1>;
}

createRoot(document.getElementById('root') as HTMLElement).render(<Hello />);
