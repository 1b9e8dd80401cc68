import { useId } from "preact/hooks";

/** The input attributes the forms use. */
interface InputProps {
  type?: "text" | "email" | "password" | "search";
  autocomplete?: string;
  inputMode?: "text" | "decimal" | "numeric" | "email";
  required?: boolean;
  placeholder?: string;
}

/** A labelled input with its error right below it (announced, and tied to the input). */
export function Field(
  props: InputProps & {
    label: string;
    value: string;
    onValue: (v: string) => void;
    error?: string;
    hint?: string;
  },
) {
  const { label, value, onValue, error, hint, ...input } = props;
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        // preact 11 types each input `type` separately; these attributes are valid for all of ours
        {...(input as object)}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
        onInput={(e) => onValue(e.currentTarget.value)}
      />
      {hint && !error && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** The API's refusal of a whole form, shown next to it. */
export function FormError(props: { message?: string | null; testId?: string }) {
  if (!props.message) return null;
  return (
    <p class="form-error" role="alert" data-testid={props.testId}>
      {props.message}
    </p>
  );
}
