//! `Either`: the output of [`select`](crate::select), saying which side finished.

/// One of two values: which future of a [`select`](crate::select) finished first.
///
/// # Examples
///
/// ```
/// use tower_coro::Either;
///
/// let e: Either<u8, &str> = Either::Left(1);
/// assert!(e.is_left());
/// assert_eq!(e.left(), Some(1));
/// assert_eq!(Either::<u8, u8>::Right(2).into_inner(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Either<L, R> {
    /// The first (left) future finished first.
    Left(L),
    /// The second (right) future finished first.
    Right(R),
}

impl<L, R> Either<L, R> {
    /// Whether this is `Left`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tower_coro::Either::<u8, ()>::Left(1).is_left());
    /// ```
    pub fn is_left(&self) -> bool {
        matches!(self, Either::Left(_))
    }

    /// Whether this is `Right`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tower_coro::Either::<(), u8>::Right(1).is_right());
    /// ```
    pub fn is_right(&self) -> bool {
        matches!(self, Either::Right(_))
    }

    /// The left value, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tower_coro::Either::<u8, ()>::Left(1).left(), Some(1));
    /// ```
    pub fn left(self) -> Option<L> {
        match self {
            Either::Left(l) => Some(l),
            Either::Right(_) => None,
        }
    }

    /// The right value, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tower_coro::Either::<(), u8>::Right(1).right(), Some(1));
    /// ```
    pub fn right(self) -> Option<R> {
        match self {
            Either::Left(_) => None,
            Either::Right(r) => Some(r),
        }
    }
}

impl<T> Either<T, T> {
    /// The value, whichever side it is on.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tower_coro::Either::<u8, u8>::Left(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Either::Left(v) | Either::Right(v) => v,
        }
    }
}
