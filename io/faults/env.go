package faults

// Env is the environment variable that arms a fault: "POINT:N".
const Env = "VENDORLAKE_FAULT"
