/**
 * Placeholder: filled in by issue #6.
 * @module
 */
export {};
