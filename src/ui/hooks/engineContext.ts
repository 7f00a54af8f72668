import { createContext, useContext } from 'react';
import type { EngineClient } from '../../engineClient/client';

export const EngineContext = createContext<EngineClient | null>(null);

export function useEngine(): EngineClient {
  const client = useContext(EngineContext);
  if (client === null) throw new Error('useEngine() outside <EngineContext.Provider>');
  return client;
}
