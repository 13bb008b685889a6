import { describe, expect, it } from 'vitest';
import { readRerankRequest, readRerankScores, rerankAnswer } from '../../src/data/adapters/shared/rerank-answer.ts';
import { planRerank } from '../../src/data/adapters/shared/rerank-plans.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

const request = readRerankRequest({ model: 'ranker', query: 'q', documents: ['a', { text: 'b' }, 'c'], top_n: 2, return_documents: true });

describe('rerank answers', () => {
  it('reads the scores of every shape a server answers in', () => {
    const tei = [{ index: 2, score: 0.9 }, { index: 0, score: 0.1 }, { index: 1, score: 0.5 }];
    const cohere = { results: [{ index: 2, relevance_score: 0.9, document: { text: 'c' } }, { index: 1, relevance_score: 0.5 }, { index: 0, relevance_score: 0.1 }], usage: { total_tokens: 7 } };
    const infinity = { object: 'rerank', results: [{ relevance_score: 0.9, index: 2, document: 'c' }, { relevance_score: 0.5, index: 1 }, { relevance_score: 0.1, index: 0 }], usage: { prompt_tokens: 7, total_tokens: 7 } };
    const vllmScore = { object: 'list', data: [{ index: 0, object: 'score', score: 0.1 }, { index: 1, object: 'score', score: 0.5 }, { index: 2, object: 'score', score: 0.9 }], usage: { prompt_tokens: 7, total_tokens: 7 } };
    for (const answer of [tei, cohere, infinity, vllmScore]) {
      const { scores } = readRerankScores(answer, 3, 'test');
      const built = rerankAnswer(request, scores, null);
      expect(built.results).toEqual([
        { index: 2, relevance_score: 0.9, document: { text: 'c' } },
        { index: 1, relevance_score: 0.5, document: { text: 'b' } },
      ]);
    }
    expect(readRerankScores(cohere, 3, 'test').totalTokens).toBe(7);
  });

  it.each([
    ['no list', { object: 'list' }],
    ['an index outside the documents sent', [{ index: 3, score: 0.2 }]],
    ['the same index twice', [{ index: 0, score: 0.2 }, { index: 0, score: 0.3 }]],
    ['a result without a score', { results: [{ index: 0 }] }],
  ])('calls an answer with %s a protocol failure', (_, answer) => {
    expect(() => readRerankScores(answer, 3, 'POST /rerank')).toThrow(UpstreamError);
  });

  it('sends documents as strings and never asks the server to echo them', () => {
    expect(planRerank('cohere', { model: 'ranker', query: 'q', documents: ['a', { text: 'b' }], top_n: 1, return_documents: true }, 'served', {}).body).toEqual({
      model: 'served',
      query: 'q',
      documents: ['a', 'b'],
      top_n: 1,
      return_documents: false,
    });
    expect(planRerank('tei', { model: 'ranker', query: 'q', documents: [{ text: 'b' }] }, 'served', {}).body).toEqual({ query: 'q', texts: ['b'], truncate: true, raw_scores: false, return_text: false });
    expect(planRerank('score', { model: 'ranker', query: 'q', documents: ['a'] }, 'served', {})).toMatchObject({ path: '/v1/score', body: { model: 'served', text_1: 'q', text_2: ['a'] } });
  });
});
