// express@4 is installed under the alias express4 with no types of its own; its API here is 5's.
declare module 'express4' {
  import express from 'express'
  export default express
}
