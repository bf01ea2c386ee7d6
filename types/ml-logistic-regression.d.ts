// ml-logistic-regression ships no types; what the mesh uses of it.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    classifiers: { testScores(features: Matrix): number[]; weights: Matrix }[];
    train(features: Matrix, labels: Matrix): void;
  }
}
